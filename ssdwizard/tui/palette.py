"""The command palette's steps: jump to any step by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ssdwizard.steps import STEPS


class StepCommands(Provider):
    def _commands(self):
        for index, step in enumerate(STEPS):
            yield f"Go to step {index + 1}: {step.title}", partial(self.app.show_step, index)
        yield "Go to the summary", partial(self.app.show_step, len(STEPS))

    async def discover(self) -> Hits:
        for name, action in self._commands():
            yield DiscoveryHit(name, action)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), action)
