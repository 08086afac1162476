"""No secret value in the repr / str of any resource or settings object of a run, its run config or its event log,
while the run really uses the BRAIN credentials (the field registry syncs from a loopback BRAIN emulator)."""
import dagster as dg
from pydantic import SecretStr

from alpha_assets.definitions import build_definitions
from alpha_assets.mine import format_summary, run_mine
from alpha_assets.resources import BrainResource
from alpha_core.config import AlphaSettings
from tests.assets.conftest import DATE

SECRETS = {"BRAIN_EMAIL": "sentinel-email-7f3a@example.com", "BRAIN_PASSWORD": "sentinel-password-7f3a",
           "BRAIN_SESSION_TOKEN": "sentinel-token-7f3a", "ALPHA_LLM_API_KEY": "sentinel-llm-7f3a",
           "OPENAI_API_KEY": "sentinel-openai-7f3a", "ANTHROPIC_API_KEY": "sentinel-anthropic-7f3a"}


def _texts(*objects) -> list[str]:
    return [t for o in objects for t in (repr(o), str(o))]


def test_no_secret_in_resources_settings_run_config_or_event_log(home, db, monkeypatch, capfd):
    from alpha_core.brain.emulator import EmulatorConfig, run_in_thread

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = EmulatorConfig(email=SECRETS["BRAIN_EMAIL"], password=SecretStr(SECRETS["BRAIN_PASSWORD"]),
                            session_token=SecretStr(SECRETS["BRAIN_SESSION_TOKEN"]))
    with run_in_thread(config) as emulator:
        monkeypatch.setenv("ALPHA_BRAIN_URL", emulator.url)
        _check_no_secret(db, capfd)


def _check_no_secret(db, capfd):
    settings = AlphaSettings()
    # the secrets are loaded (so the test below can fail) and reachable only as SecretStr
    assert settings.llm_api_key.get_secret_value() == SECRETS["ALPHA_LLM_API_KEY"]
    defs = build_definitions(db, synthetic="120,20,1")
    brain = defs.resources["brain"]
    assert isinstance(brain, BrainResource)
    creds = brain.credentials()
    assert creds.password.get_secret_value() == SECRETS["BRAIN_PASSWORD"]
    assert creds.session_token.get_secret_value() == SECRETS["BRAIN_SESSION_TOKEN"]
    texts = _texts(settings, settings.public_dict(), creds, *defs.resources.values(), defs.resources)
    with dg.build_resources(defs.resources) as resolved:           # the resources as a run sees them
        texts += _texts(resolved, *(getattr(resolved, k) for k in defs.resources))
    inst = dg.DagsterInstance.ephemeral()
    summary = run_mine(DATE, ["close"], 1, duckdb_path=db, synthetic="120,20,1", instance=inst)
    sync = inst.fetch_materializations(dg.AssetKey("field_registry"), limit=1).records[0]
    assert sync.asset_materialization.metadata["source"].value == "brain"          # the credentials were used
    for run in inst.get_runs():
        texts += _texts(run.run_config, run.tags, run)
        for rec in inst.all_logs(run.run_id):
            texts += [rec.user_message or "", repr(rec.dagster_event)]
    out = capfd.readouterr()
    texts += [out.out, out.err, format_summary(summary)]
    with open(db, "rb") as fh:
        texts.append(fh.read().decode("latin-1"))
    blob = "\n".join(texts)
    assert "sentinel" not in blob.lower()
    assert len(inst.get_runs()) >= 5 and "SecretStr('**********')" in blob     # it did look at them
    inst.dispose()
