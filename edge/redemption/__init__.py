"""Redemption: checking a customer's code (or order + phone digits) and opening the room."""

from edge.redemption.model import Decision, Reason, Redeem, Reentry, Refuse
from edge.redemption.services import Outcome, RedemptionResult, RedemptionService

__all__ = [
    "Decision",
    "Outcome",
    "Reason",
    "Redeem",
    "RedemptionResult",
    "RedemptionService",
    "Reentry",
    "Refuse",
]
