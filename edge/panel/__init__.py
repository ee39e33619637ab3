"""The edge-local staff panel: health, state and redemption over HTTP, and a room grid."""

from edge.panel.app import create_panel
from edge.panel.server import PanelServer
from edge.panel.views import PanelSources, PanelState, gather_state

__all__ = ["PanelServer", "PanelSources", "PanelState", "create_panel", "gather_state"]
