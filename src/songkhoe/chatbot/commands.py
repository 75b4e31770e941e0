"""`songkhoe chat`: ask the health chatbot from the command line; rebuild its vector index."""

import click
import orjson

from songkhoe.console import CommandError


@click.group()
def chat() -> None:
    """Health chatbot: cited answers in Vietnamese, danger signs first."""


@chat.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def ask_command(question: str, as_json: bool) -> None:
    """Triage QUESTION and answer it from the knowledge base."""
    from songkhoe.chatbot.service import ChatInputError, ask

    try:
        reply = ask(question)
    except ChatInputError as exc:
        raise CommandError(str(exc)) from None
    if as_json:
        click.echo(orjson.dumps(reply.to_json()).decode())
        return
    click.echo(f"[{reply.triage.level}]\n{reply.answer}")


@chat.command("index")
def index_command() -> None:
    """Embed the knowledge base again into knowledge/vectors.json.gz (after editing entries)."""
    from songkhoe.chatbot.knowledge import load_entries
    from songkhoe.chatbot.semantic import VECTORS_FILE, write_vectors

    count = write_vectors(load_entries())
    click.echo(f"{count} texts embedded into {VECTORS_FILE}")
