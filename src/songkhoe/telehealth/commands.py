"""`songkhoe telehealth`: specialty queues and the escalation of overdue consultations."""

from datetime import UTC, datetime

import click

from songkhoe.console import open_store
from songkhoe.telehealth.escalation import escalate_overdue
from songkhoe.telehealth.queues import QueueError, all_queues, configure_queue


@click.group()
def telehealth() -> None:
    """Telehealth consultations and referrals."""


@telehealth.command("queue")
@click.option("--facility", "facility_id", required=True, help="Organization id, e.g. bv-bach-mai.")
@click.option("--specialty", required=True, help="e.g. cardiology, pulmonology.")
@click.option("--specialist", "specialists", multiple=True, required=True, help="Username.")
@click.option("--backup", "backups", multiple=True, help="Username, in escalation order.")
def queue_command(facility_id: str, specialty: str, specialists, backups) -> None:
    """Create or replace a specialty queue of a facility."""
    try:
        q = configure_queue(
            open_store(),
            facility_id=facility_id,
            specialty=specialty,
            specialists=list(specialists),
            backups=list(backups),
        )
    except QueueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"queue {q.id}: {len(q.specialists)} specialist(s), {len(q.backups)} backup(s)")


@telehealth.command("queues")
def queues_command() -> None:
    """List the specialty queues."""
    for q in all_queues(open_store()):
        click.echo(f"{q.id}\t{q.name}\t{len(q.specialists)}+{len(q.backups)}")


@telehealth.command("escalate")
@click.option("--now", "at", type=click.DateTime(), default=None, help="UTC; default: now.")
def escalate_command(at: datetime | None) -> None:
    """Escalate consultations whose response target is missed (run from cron)."""
    moment = at.replace(tzinfo=UTC) if at else datetime.now(UTC)
    done = escalate_overdue(open_store(), moment)
    click.echo(f"{len(done)} consultation(s) escalated")
