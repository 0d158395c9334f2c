"""The database commands a piece of work sends, as a PyMongo command listener sees them."""

from typing import Any

from pymongo import monitoring

#: Driver chatter, and the continuation of a long result, which is not a new question.
IGNORED = frozenset({"hello", "isMaster", "ismaster", "ping", "endSessions", "getMore"})


class CommandRecorder(monitoring.CommandListener):
    """Keeps (name, command) of every command sent while ``recording`` is on, without the
    driver's own fields (``$db``, ``lsid``), so a command can be sent again to ``explain``."""

    def __init__(self) -> None:
        self.recording = False
        self.commands: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording and event.command_name not in IGNORED:
            command = {k: v for k, v in event.command.items() if not k.startswith("$")}
            command.pop("lsid", None)
            self.commands.append((event.command_name, command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
