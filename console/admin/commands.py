"""`permanence admin create-user` (the first admin in production) and `permanence purge` (retention)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

admin_app = typer.Typer(help="Administration en ligne de commande (premier administrateur, comptes).")
CLI_ACTOR = "ligne de commande"


def _engine() -> Engine:
    from practice.db import make_engine, migrate
    from practice.settings import Settings

    engine = make_engine(Settings().resolved_database_url)
    migrate(engine)
    return engine


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = typer.prompt("Mot de passe (10 caractères au moins)", hide_input=True,
                              confirmation_prompt="Répétez le mot de passe")
    return value


@admin_app.command("create-user")
def create_user(
    username: Annotated[str, typer.Option("--username", prompt="Identifiant", help="Identifiant de connexion.")],
    role: Annotated[str, typer.Option("--role", help="secretary, manager ou admin.")] = "admin",
    full_name: Annotated[str, typer.Option("--full-name", help="Nom affiché.")] = "",
    practice: Annotated[list[int] | None, typer.Option("--practice", help="Cabinet servi (répétable).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Lire le mot de passe sur stdin.")] = False,
) -> None:
    """Create a console user; the password is asked twice (never an argument) and stored hashed (argon2id)."""
    from pydantic import ValidationError
    from sqlmodel import Session, select

    from console.admin.forms import french_errors
    from console.admin.schemas import UserCreateIn
    from practice.models import AuditLog, User, UserPractice
    from practice.passwords import hash_password

    try:
        data = UserCreateIn.model_validate({"username": username, "role": role, "full_name": full_name,
                                            "password": _password(password_stdin), "practice_ids": practice or []})
    except ValidationError as exc:
        typer.echo(f"Refusé : {french_errors(exc)}", err=True)
        raise typer.Exit(code=2) from None
    with Session(_engine()) as session:
        if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
            typer.echo(f"Refusé : l'identifiant « {data.username} » existe déjà.", err=True)
            raise typer.Exit(code=1)
        user = User(username=data.username, full_name=data.full_name, role=data.role,
                    password_hash=hash_password(data.password))
        session.add(user)
        session.flush()
        for practice_id in data.practice_ids:
            session.add(UserPractice(user_id=user.id or 0, practice_id=practice_id))
        session.add(AuditLog(actor=CLI_ACTOR, action="create", entity="user", entity_id=str(user.id),
                             detail={"after": {"username": data.username, "role": data.role}}))
        session.commit()
    typer.echo(f"Utilisateur « {data.username} » créé (rôle {data.role}).")


def purge_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compter sans rien effacer.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON.")] = False,
) -> None:
    """Delete or blank the call data past each practice's retention (idempotent; audited)."""
    from practice.retention import purge
    from practice.settings import Settings

    report = purge(_engine(), dry_run=dry_run, recordings_dir=Settings().data_dir / "recordings")
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    total = report.total
    verb = "seraient effacés" if dry_run else "effacés"
    typer.echo(f"Transcriptions : {total.transcripts} tours ; résumés : {total.summaries} tickets ; "
               f"appels : {total.calls} ; enregistrements : {total.audio_files} — {verb}.")
