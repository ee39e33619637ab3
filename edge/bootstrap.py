"""The edge daemon's composition root: store, broker, bus, devices, faults, sessions, link, panel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from importlib import metadata
from types import TracebackType
from typing import Any, Self

from drivers.mqtt import MqttBus
from edge.broker import EmbeddedBroker
from edge.clock import Clock, SystemClock
from edge.config import EdgeConfig
from edge.devices import DeviceManager, DriverTiming, ManagerTiming
from edge.faults.model import ALARMS, FaultSpec
from edge.faults.services import FaultService
from edge.identity import DB_FILE
from edge.link import CommandRunner, LinkClient
from edge.metrics import EdgeMetrics, MeteredActuators
from edge.panel import ChangeFeed, Panel, PanelServer, PanelSources, StaffActions, StaffAuth, create_panel
from edge.redemption import RedemptionResult, RedemptionService
from edge.rooms import RoomLocks
from edge.sessions.model import SessionSettings
from edge.sessions.services import CleaningResult, SessionService
from edge.store import EdgeStore
from protos.codes import is_room_code

logger = logging.getLogger(__name__)

PANEL_STOP_TIMEOUT_S = 5.0
# Command results are kept for replays well past any command's deadline.
COMMAND_RESULTS_KEPT_S = 7 * 24 * 3600


def software_version() -> str:
    """This package's version, as told to the cloud."""
    try:
        return metadata.version("gatehouse")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


class EdgeDaemon:
    """One store's edge daemon: `async with EdgeDaemon(config) as edge:` runs every part until exit."""

    def __init__(
        self, config: EdgeConfig, *, clock: Clock | None = None, ble_backend: type[Any] | None = None
    ) -> None:
        self.config = config
        # bleak's client backend for BLE locks (None: the platform's; tests pass a simulator's).
        self._ble_backend = ble_backend
        self.clock: Clock = clock or SystemClock()
        self.store = EdgeStore(config.data_dir / DB_FILE)
        self.broker = EmbeddedBroker(config.mqtt.host, config.mqtt.port)
        self.bus: MqttBus | None = None
        self._stack = contextlib.AsyncExitStack()
        self._tasks: asyncio.TaskGroup | None = None
        self._background: list[asyncio.Task[None]] = []
        self._panel_task: asyncio.Task[None] | None = None
        self._panel_server: PanelServer | None = None
        # Its own registry: several edges in one process (tests, the demo) keep their metrics apart.
        self.metrics = EdgeMetrics()
        self.mqtt_port = 0
        self.panel_port = 0
        # Wired in __aenter__.
        self.devices: DeviceManager
        self.faults: FaultService
        self.sessions: SessionService
        self.redemption: RedemptionService
        self.commands: CommandRunner
        self.link: LinkClient
        self.panel: Panel

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _start(self) -> None:
        config = self.config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        await self._stack.enter_async_context(self.store)
        await self.store.prune_command_results(self.clock.now() - COMMAND_RESULTS_KEPT_S)
        await self._stack.enter_async_context(self.broker)
        self.mqtt_port = self.broker.port
        bus_host = "127.0.0.1" if config.mqtt.host in ("0.0.0.0", "::", "") else config.mqtt.host
        self.bus = await self._stack.enter_async_context(
            MqttBus(bus_host, self.mqtt_port, client_id="gatehouse-edge")
        )
        devices = config.devices
        timing = DriverTiming(devices.timeout_s, devices.tries, devices.backoff_s)
        self.devices = DeviceManager(
            self.store,
            self.bus,
            self.clock,
            timing=timing,
            manager_timing=ManagerTiming(devices.poll_s, devices.check_s, devices.flash_s),
            ble_backend=self._ble_backend,
        )
        local = config.settings
        base = SessionSettings(local.early_grace_s, local.warning_lead_min * 60, local.cleaning_gap_min * 60)
        locks = RoomLocks()
        # Every service acts on the devices through one counting wrapper (device command metrics).
        actuators = MeteredActuators(self.devices, self.metrics)
        self.faults = FaultService(self.store, self.clock, base=base, doors=actuators)
        # Room QRs are checked with the store keys the link holds once enrolled (made just below).
        self.sessions = SessionService(
            self.store, self.clock, actuators, self.faults, locks=locks, keyring=lambda: self.link.keyring()
        )
        self.commands = CommandRunner(
            self.store,
            actuators,
            self.clock,
            sessions=self.sessions,
            faults=self.faults,
            printer=actuators,
            locks=locks,
        )
        self.link = LinkClient(
            config.cloud,
            config.data_dir,
            self.store,
            self.commands,
            software_version=software_version(),
            on_store_data=self._store_data_changed,
            clock=self.clock,
        )
        self.redemption = RedemptionService(
            self.store,
            actuators,
            self.clock,
            self.link.keyring,
            default_grace_s=config.settings.early_grace_s,
            faults=self.faults,
            locks=locks,
            on_session=self.sessions.poke,
        )
        self.devices.on_code = self.metrics.timed_scan(self.on_scan)
        self.devices.on_problem = self.on_problem
        self.panel = self._create_panel(actuators, locks)
        self._panel_server = PanelServer(self.panel.app, config.panel.host, config.panel.port)
        self.panel_port = self._panel_server.port

        self._tasks = asyncio.TaskGroup()
        await self._tasks.__aenter__()
        self._background = [
            self._tasks.create_task(self.devices.run(), name="edge-devices"),
            self._tasks.create_task(self.sessions.run(), name="edge-sessions"),
            self._tasks.create_task(self.link.run(), name="edge-link"),
        ]
        self._panel_task = self._tasks.create_task(self._panel_server.serve(), name="edge-panel")
        logger.info(
            "edge daemon up",
            extra={
                "mqtt_port": self.mqtt_port,
                "panel_port": self.panel_port,
                "data_dir": str(config.data_dir),
            },
        )

    def _create_panel(self, actuators: MeteredActuators, locks: RoomLocks) -> Panel:
        sources = PanelSources(
            self.store,
            self.clock,
            self.devices.statuses,
            lambda: self.link.connected,
            device_availability=lambda: {k: v.value for k, v in self.devices.availabilities().items()},
            last_seen=self.devices.last_seen,
            session_settings=self.sessions.settings,
        )
        actions = StaffActions(
            self.store,
            self.clock,
            actuators,
            self.redemption,
            self.sessions,
            self.faults,
            locks=locks,
            metrics=self.metrics,
        )
        auth = StaffAuth(self.store, self.clock, on_sign_in=self.metrics.count_sign_in)
        # Live views re-read after every committed write (sessions, devices, faults, store data).
        feed = ChangeFeed()
        self._stack.callback(self.store.subscribe(feed.notify))
        return create_panel(sources, actions, auth, feed=feed, metrics=self.metrics)

    async def _store_data_changed(self) -> None:
        self.devices.request_sync()
        self.sessions.poke(reconcile=True)

    async def on_scan(self, text: str, device_id: str) -> RedemptionResult | CleaningResult:
        """Route a scan: a room's QR is the cleaner's, anything else a customer's code."""
        if is_room_code(text):
            return await self.sessions.cleaned_scan(text, device_id)
        return await self.redemption.redeem_code(text, device_id)

    async def on_problem(self, spec: FaultSpec) -> None:
        """A device reported trouble: smoke and emergency sound the alarm, the rest are faults."""
        if spec.code in ALARMS:
            await self.faults.alarm(spec)
        else:
            await self.faults.raise_fault(spec)
        self.sessions.poke()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._stop_tasks()
        finally:
            await self._stack.aclose()
            logger.info("edge daemon stopped")

    async def _stop_tasks(self) -> None:
        tasks, self._tasks = self._tasks, None
        if tasks is None:
            return
        if self._panel_server is not None and self._panel_task is not None:
            # Live views (server-sent events) end first, or the server would wait on them.
            self.panel.close()
            self._panel_server.stop()
            await asyncio.wait({self._panel_task}, timeout=PANEL_STOP_TIMEOUT_S)
        for task in (*self._background, self._panel_task):
            if task is not None:
                task.cancel()
        # The body's own exception (if any) propagates by itself; this raises only the tasks' failures.
        await tasks.__aexit__(None, None, None)


async def run(config: EdgeConfig) -> None:
    """Run the edge daemon until cancelled or sent SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        async with EdgeDaemon(config):
            await stop.wait()
            logger.info("edge daemon stopping on signal")
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
