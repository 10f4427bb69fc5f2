"""Text prompts for corpus instruments: training templates, held-out templates, and the canonical prompt."""
from timbre.corpus.instruments import instrument

FAMILY_WORDS = {"plucked": "plucked string", "struck": "struck", "bowed": "bowed string", "reed": "reed",
                "flute": "woodwind", "brass": "brass", "organ": "keyboard"}
TRAIN_TEMPLATES = ("{name}", "a {name}", "{name} melody", "solo {name}", "the sound of a {name}",
                   "a {family} instrument, {name}", "{name} playing a tune", "a {name} line", "{family} {name}",
                   "make it a {name}")
HELD_OUT_TEMPLATES = ("a recording of a {name}", "{name} solo", "notes played on a {name}")


def prompt(name: str, template: str = "{name}") -> str:
    """One prompt for the instrument called `name`."""
    if "{family}" not in template:
        return template.format(name=name)
    return template.format(name=name, family=FAMILY_WORDS[instrument(name).family])


def canonical_prompt(name: str) -> str:
    """The prompt edits and generations use for a target instrument (any name, not only the corpus's)."""
    return prompt(name, "solo {name}")
