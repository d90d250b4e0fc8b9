"""The quotebot command line, run as a user runs it (click's runner, real model for ask)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import NEWS, NEWS_DEV, FakeEmbedder

COMMANDS = ["index", "ask", "eval", "sources", "stats", "serve"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    summary = (main.commands[command].help or "").splitlines()[0]
    assert result.exit_code == 0 and summary
    assert " ".join(summary.split()[:4]) in " ".join(result.output.split())  # click wraps lines


def test_ask_without_an_index_says_how_to_build_one(tmp_path, monkeypatch):
    # ask loads the model before it opens the index: the fake one, so that no model is loaded
    monkeypatch.setattr("bot.services.load_embedder", lambda settings: FakeEmbedder())
    result = CliRunner().invoke(main, ["--data", str(tmp_path), "ask", "who?"])
    assert result.exit_code == 1
    assert "quotebot index" in result.output and "Traceback" not in result.output


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path, monkeypatch):
    monkeypatch.setenv("QUOTEBOT_STORE__URL", "postgresql://qb:topsecret@127.0.0.1:1/qb")
    monkeypatch.setenv("QUOTEBOT_STORE__CONNECT_TIMEOUT_S", "1")
    result = CliRunner().invoke(main, ["--data", str(tmp_path), "sources"])
    assert result.exit_code == 1 and "unavailable" in result.output
    assert "topsecret" not in result.output and "Traceback" not in result.output
    assert "postgresql://qb:***@127.0.0.1:1/qb" in result.output


def test_bad_config_is_named(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("[retrieval]\nrrf_kk = 3\n")
    result = CliRunner().invoke(main, ["--config", str(bad), "stats"])
    assert result.exit_code == 1 and "rrf_kk" in result.output and str(bad) in result.output


@pytest.mark.model
def test_index_ask_json_stdin_sources_and_eval(tmp_path, real_embedder, monkeypatch):
    monkeypatch.setattr("bot.services.load_embedder", lambda settings: real_embedder)
    runner = CliRunner()
    data = ["--data", str(tmp_path)]
    out = runner.invoke(main, [*data, "index", str(NEWS), str(tmp_path / "missing.txt")])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("added 5, updated 0, unchanged 0, removed 0, skipped 1")
    assert "missing.txt: no such file or folder" in out.output
    again = runner.invoke(main, [*data, "index", str(NEWS)])
    assert again.output.startswith("added 0, updated 0, unchanged 5, removed 0, skipped 0")

    questions = [
        "Who disavowed Macron's statement about ground troops?",
        "",
        "What is the recipe for chocolate cake?",
    ]
    out = runner.invoke(
        main, [*data, "ask", "--json", "-k", "2", "-"], input="\n".join(questions) + "\n"
    )
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    first = rows[0]
    assert set(first) >= {"question", "abstained", "answers"} and not first["abstained"]
    answer = first["answers"][0]
    assert set(answer) >= {"quote", "highlight", "score", "sources"} and len(first["answers"]) <= 2
    assert set(answer["sources"][0]) >= {"id", "title", "path", "url", "published"}
    assert "NATO officials" in answer["quote"] and answer["highlight"] == "NATO officials"
    assert rows[1]["abstained"] and rows[2]["abstained"] and rows[2]["answers"] == []

    text = runner.invoke(main, [*data, "ask", "Where is the Klietz military training area?"])
    assert "[Germany]" in text.output and "004_4a921274bc84f683.txt" in text.output

    listing = runner.invoke(main, [*data, "sources"])
    assert len(listing.output.splitlines()) == 5
    figures = runner.invoke(main, [*data, "eval", "--json", str(NEWS_DEV)])
    result = json.loads(figures.stdout)
    assert result["top3_hit"] == 1.0 and result["abstention"] == 1.0


def _serve(tmp_path, monkeypatch, stdin=""):
    from tests.conftest import FakeEmbedder

    monkeypatch.setattr("bot.services.load_embedder", lambda settings: FakeEmbedder())
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("QUOTEBOT_RETRIEVAL__HIGHLIGHT", "false")
    return CliRunner().invoke(main, ["--data", str(tmp_path), "serve"], input=stdin)


def test_serve_without_an_index_starts_and_says_how_to_build_one(tmp_path, monkeypatch):
    result = _serve(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "No index in" in result.output and "quotebot index" in result.output


def test_serve_refuses_a_damaged_index_at_start_up(tmp_path, monkeypatch):
    from index.builder import IndexRun, update_index
    from index.snapshot import current_generation
    from tests.conftest import FakeEmbedder

    update_index(tmp_path, [NEWS], IndexRun(FakeEmbedder()))
    vectors = current_generation(tmp_path) / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    result = _serve(tmp_path, monkeypatch, stdin="who proposed troops?\n")
    assert result.exit_code == 1
    assert "--rebuild" in result.output and "Traceback" not in result.output
    assert "chatting here instead" not in result.output  # refused before any question


def test_sources_and_stats_load_no_model(tmp_path, fake_embedder, monkeypatch, backend):
    from index.builder import IndexRun

    (tmp_path / "a.txt").write_text("Lumen names a chief\n\nLumen Inc named Ann Ray chief.\n")
    settings = backend.settings()
    backend.storage(tmp_path / "data", settings).update([tmp_path / "a.txt"], IndexRun(fake_embedder))
    for name, value in backend.env(settings).items():  # the index in PostgreSQL: [store] url
        monkeypatch.setenv(name, value)

    def no_model(settings):
        raise AssertionError("the catalogue loaded the model")

    monkeypatch.setattr("bot.services.load_embedder", no_model)
    data = ["--data", str(tmp_path / "data")]
    stats = CliRunner().invoke(main, [*data, "stats"])
    assert stats.exit_code == 0 and json.loads(stats.stdout)["articles"] == 1
    sources = CliRunner().invoke(main, [*data, "sources"])
    assert sources.exit_code == 0 and "Lumen names a chief" in sources.output
