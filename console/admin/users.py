"""Administration of console users: create, change role/practices/skills, disable, reset password."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from console.admin.audit import record, snapshot
from console.admin.errors import AdminError, not_found
from console.admin.schemas import PasswordIn, UserCreateIn, UserOut, UserUpdateIn
from console.auth import ConsoleUser
from console.i18n import N_
from practice.models import Practice, Role, User, UserPractice
from practice.passwords import hash_password


def _practices_of(session: Session, user_id: int) -> list[int]:
    rows = session.exec(select(UserPractice.practice_id).where(UserPractice.user_id == user_id))
    return sorted(int(p) for p in rows)


def user_out(session: Session, user: User) -> UserOut:
    assert user.id is not None
    return UserOut(id=user.id, username=user.username, full_name=user.full_name, role=user.role,
                   languages=list(user.languages), skills=list(user.skills),
                   practice_ids=_practices_of(session, user.id), active=user.active)


def _snapshot(session: Session, user: User) -> dict[str, Any]:
    data = snapshot(user) or {}
    data["practice_ids"] = _practices_of(session, user.id or 0)
    return data


def list_users(session: Session) -> list[UserOut]:
    return [user_out(session, u) for u in session.exec(select(User).order_by(col(User.username)))]


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise not_found(N_("Utilisateur"))
    return user


def _check_practices(session: Session, practice_ids: list[int]) -> list[int]:
    wanted = sorted(set(practice_ids))
    if not wanted:
        return []
    known = set(session.exec(select(Practice.id).where(col(Practice.id).in_(wanted))))
    missing = [p for p in wanted if p not in known]
    if missing:
        raise AdminError(422, N_("Cabinet(s) inconnu(s) : {ids}."), ids=", ".join(map(str, missing)))
    return wanted


def _set_practices(session: Session, user_id: int, practice_ids: list[int]) -> None:
    session.execute(sa.delete(UserPractice).where(col(UserPractice.user_id) == user_id))
    for practice_id in practice_ids:
        session.add(UserPractice(user_id=user_id, practice_id=practice_id))


def create_user(session: Session, actor: ConsoleUser, data: UserCreateIn) -> UserOut:
    if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
        raise AdminError(409, N_("L'identifiant « {username} » est déjà pris."), username=data.username)
    practice_ids = _check_practices(session, data.practice_ids)
    user = User(username=data.username, full_name=data.full_name, role=data.role, languages=data.languages,
                skills=data.skills, active=data.active, password_hash=hash_password(data.password))
    session.add(user)
    session.flush()
    assert user.id is not None
    _set_practices(session, user.id, practice_ids)
    session.flush()
    record(session, actor, action="create", entity="user", entity_id=user.id, practice_id=None,
           after=_snapshot(session, user))
    session.commit()
    return user_out(session, user)


def _other_active_admins(session: Session, user_id: int) -> int:
    query = select(sa.func.count()).select_from(User).where(User.role == Role.admin, col(User.active).is_(True),
                                                            User.id != user_id)
    return int(session.exec(query).one())


def update_user(session: Session, actor: ConsoleUser, user_id: int, data: UserUpdateIn) -> UserOut:
    user = get_user(session, user_id)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
    stays_admin = changes.get("role", user.role) == Role.admin and changes.get("active", user.active)
    if user.role == Role.admin and user.active and not stays_admin and _other_active_admins(session, user_id) == 0:
        raise AdminError(409, N_("Impossible : c'est le dernier administrateur actif. Nommez-en un autre d'abord."))
    before = _snapshot(session, user)
    practice_ids = changes.pop("practice_ids", None)
    for key, value in changes.items():
        setattr(user, key, value)
    session.add(user)
    if practice_ids is not None:
        _set_practices(session, user_id, _check_practices(session, practice_ids))
    session.flush()
    record(session, actor, action="update", entity="user", entity_id=user_id, practice_id=None, before=before,
           after=_snapshot(session, user))
    session.commit()
    return user_out(session, user)


def reset_password(session: Session, actor: ConsoleUser, user_id: int, data: PasswordIn) -> None:
    user = get_user(session, user_id)
    user.password_hash = hash_password(data.password)
    session.add(user)
    record(session, actor, action="reset_password", entity="user", entity_id=user_id, practice_id=None)
    session.commit()
