"""The edge-local staff panel: sign-in with cached staff credentials, live room grid, actions, JSON API."""

from edge.panel.actions import ActionResult, Actor, StaffActions
from edge.panel.app import Panel, create_panel
from edge.panel.auth import PanelSession, SignInRefused, StaffAuth
from edge.panel.live import ChangeFeed
from edge.panel.server import PanelServer
from edge.panel.views import PanelSources, PanelState, gather_state

__all__ = [
    "ActionResult",
    "Actor",
    "ChangeFeed",
    "Panel",
    "PanelServer",
    "PanelSession",
    "PanelSources",
    "PanelState",
    "SignInRefused",
    "StaffActions",
    "StaffAuth",
    "create_panel",
    "gather_state",
]
