"""``make run``: the links in SMS texts and emails follow gunicorn's ``BIND``."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from gateway.devserver import banner, base_url, dev_env


@pytest.mark.parametrize(("environ", "bind", "public"), [
    ({}, "127.0.0.1:8000", "http://127.0.0.1:8000"),
    ({"BIND": ""}, "127.0.0.1:8000", "http://127.0.0.1:8000"),
    ({"BIND": "127.0.0.1:8080"}, "127.0.0.1:8080", "http://127.0.0.1:8080"),
    ({"BIND": "0.0.0.0:8000"}, "0.0.0.0:8000", "http://localhost:8000"),
    ({"BIND": "0.0.0.0:9000"}, "0.0.0.0:9000", "http://localhost:9000"),
    ({"BIND": "127.0.0.1:8080", "PUBLIC_BASE_URL": "https://pakn.example.ngrok.app"},
     "127.0.0.1:8080", "https://pakn.example.ngrok.app"),
    ({"BIND": "127.0.0.1:8080", "PUBLIC_BASE_URL": ""}, "127.0.0.1:8080", "http://127.0.0.1:8080"),
])
def test_dev_env_sets_the_links_from_bind_unless_set(environ: dict[str, str], bind: str, public: str) -> None:
    env = dev_env({"PATH": "/usr/bin", **environ})
    assert (env["BIND"], env["PUBLIC_BASE_URL"], env["PATH"]) == (bind, public, "/usr/bin")


def test_dev_env_leaves_its_argument_alone() -> None:
    environ = {"BIND": "127.0.0.1:8080"}
    dev_env(environ)
    assert environ == {"BIND": "127.0.0.1:8080"}


@pytest.mark.parametrize(("bind", "url"), [
    ("127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("localhost:8080", "http://localhost:8080"),
    ("LOCALHOST", "http://localhost:8000"),  # gunicorn's default port
    (":8080", "http://localhost:8080"),  # all interfaces
    ("tcp://0.0.0.0:8080", "http://localhost:8080"),
    ("[::]:8000", "http://localhost:8000"),
    ("[::1]:8080", "http://[::1]:8080"),
    ("[::1]", "http://[::1]:8000"),
])
def test_base_url_of_gunicorn_binds(bind: str, url: str) -> None:
    assert base_url(bind) == url


@pytest.mark.parametrize("bind", ["unix:/tmp/pakn.sock", "unix:///tmp/pakn.sock", "fd://3"])
def test_a_socket_bind_has_no_base_url(bind: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        base_url(bind)


def test_the_banner_shows_the_address_of_the_links(tmp_path: Path) -> None:
    env = dev_env({"INSTANCE_PATH": str(tmp_path), "BIND": "0.0.0.0:8080"})
    text = banner(Settings.from_env(env), env["BIND"], [])
    assert text.startswith("PAKN gateway on http://localhost:8080/ ")
    assert "  links    -> http://localhost:8080/ " in text
    assert ":8000" not in text.replace("BIND=0.0.0.0:8000", "")  # only in the advice to open it


def test_a_socket_bind_keeps_the_default_links_and_the_banner_starts(tmp_path: Path) -> None:
    env = dev_env({"INSTANCE_PATH": str(tmp_path), "BIND": "unix:/tmp/pakn.sock"})
    assert "PUBLIC_BASE_URL" not in env
    settings = Settings.from_env(env)
    assert banner(settings, env["BIND"], []).startswith(f"PAKN gateway on {settings.public_base_url}/ ")
