"""Commands for the web service: serve, users, access-log."""

from __future__ import annotations

import getpass
import json
import sys

from .common import session, when


def cmd_serve(args) -> int:
    from aiohttp import web

    from ..web.app import make_app

    with session() as s:
        s.ensure_topics()
        s.ensure_indices()
        print(f"callqa web on http://{args.host}:{args.port}/  (wallboard /wallboard, "
              f"agent desk /agent; `callqa users add` creates logins)", flush=True)  # fmt: skip
        web.run_app(make_app(s.settings, s.es), host=args.host, port=args.port, print=None,
                    access_log=None)  # fmt: skip
    return 0


def read_password(prompt: str = "password: ") -> str:
    """The password from stdin: typed at a terminal (not echoed) or piped, one line."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise SystemExit("callqa users: the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_users(args) -> int:
    from ..web.accounts import AccountError, Accounts

    with session() as s:
        accounts = Accounts(s.es, s.settings)
        accounts.ensure_indices()
        if args.action == "list":
            for user in accounts.users():
                print(
                    f"{user['name']:<24} {user['role']:<11} {'disabled' if user.get('disabled') else ''}"
                )
            return 0
        try:
            user = accounts.add_user(args.name, args.role, read_password(), replace=args.reset)
        except AccountError as exc:
            print(f"callqa users: {exc}", file=sys.stderr)
            return 2
    print(f"user {user.name} ({user.role}) {'password reset' if args.reset else 'added'}")
    return 0


def cmd_access_log(args) -> int:
    from ..web.accounts import Accounts

    with session() as s:
        accounts = Accounts(s.es, s.settings)
        accounts.ensure_indices()
        rows = accounts.access_log(args.call, args.user, when(args.since, "--since"), args.size)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False) if args.json else
              f"{row['at']:.0f}  {row['user']:<16} {row['role']:<10} {row['action']:<10} {row['call_id']}")  # fmt: skip
    return 0


def add_commands(sub) -> None:
    serve = sub.add_parser("serve", help="the web service: desks, wallboard, API (log in first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8780)
    serve.set_defaults(func=cmd_serve)

    users = sub.add_parser("users", help="web logins: add NAME --role R (password on stdin), list")
    users.add_argument("action", choices=["add", "list"])
    users.add_argument("name", nargs="?", help="the user name; an agent's is their agent id")
    users.add_argument("--role", choices=["agent", "supervisor", "analyst", "admin"])
    users.add_argument(
        "--reset", action="store_true", help="set a new password for an existing user"
    )
    users.set_defaults(func=_users_checked)

    access = sub.add_parser("access-log", help="who read which call's transcript, when (admins)")
    access.add_argument("--call", help="only this call")
    access.add_argument("--user", help="only this user")
    access.add_argument("--since", help="ISO date or time")
    access.add_argument("--size", type=int, default=200)
    access.add_argument("--json", action="store_true")
    access.set_defaults(func=cmd_access_log)


def _users_checked(args) -> int:
    if args.action == "add" and not (args.name and args.role):
        raise SystemExit("callqa users add NAME --role agent|supervisor|analyst|admin")
    return cmd_users(args)
