"""The edge's gRPC link to the cloud: enrolment, the stream, store data, events and commands."""

from edge.link.backoff import BackoffPolicy
from edge.link.client import LinkClient, LinkError
from edge.link.commands import CommandReply, CommandRequest, CommandRunner
from edge.link.enrol import EnrolmentError

__all__ = [
    "BackoffPolicy",
    "CommandReply",
    "CommandRequest",
    "CommandRunner",
    "EnrolmentError",
    "LinkClient",
    "LinkError",
]
