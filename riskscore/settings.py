"""Configuration from the environment (prefix RISKSCORE_) or a .env file.

Read it as `Settings()` when a command or the server starts: never cached, so each command sees
the environment as it is then.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_TOP_K = 64
"""Reasons per declaration at most; at least the number of features, so all can be asked for."""


class Settings(BaseSettings):
    """Settings shared by the CLI, training jobs and the scoring service."""

    model_config = SettingsConfigDict(env_prefix="RISKSCORE_", env_file=".env", extra="ignore")

    store_dir: Path = Path("store")
    demo_dir: Path = Path("demo")
    mlruns_dir: Path = Path("mlruns")
    tracking_uri: str | None = None  # MLFLOW_TRACKING_URI also works; default: SQLite in mlruns/
    model_name: str = "customs-risk"
    experiment: str = "customs-risk"  # MLflow experiment of training and retraining runs
    model_alias: str = "champion"
    host: str = "127.0.0.1"
    port: int = 8000
    state_dir: Path = Path("var")  # API keys, audit log, outcomes, alerts, model cache
    # The database replicas share (postgresql://user@host/db): API keys, outcomes, the audit
    # trail, alerts and selection records live there instead of in state_dir (riskscore.database).
    database_url: str | None = None
    reload_seconds: float = 30.0  # how often serving checks whether the alias moved
    max_request_bytes: int = 5_000_000  # JSON bodies of /v1/score and /v1/outcomes
    max_upload_bytes: int = 500_000_000  # bodies of /v1/score/batch
    max_declarations: int = 1000  # per /v1/score request; use /v1/score/batch for more
    top_k: int = Field(5, ge=0, le=MAX_TOP_K)  # reasons per declaration when a request does not say
    # Memory for exact-SHAP tables per loaded model; a model needing more is explained by
    # LightGBM's slower pred_contrib instead (said in the log and in /v1/model).
    shap_table_cap_mb: int = Field(512, ge=0)
    # Recent declarations the served traffic's drift (PSI per feature, /metrics) is measured on.
    drift_window: int = Field(50_000, ge=100)
    # Server processes (`riskscore serve --workers`); default: the cores this process may use.
    workers: int | None = Field(None, ge=1)
    # A /v1/score body larger than this is bulk, as every /v1/score/batch upload is: the workers
    # hand it to the bulk pool (serving.bulk_pool). ~800 bytes per declaration.
    bulk_bytes: int = Field(32_768, ge=1024)
    # Processes of the bulk pool, at a lower CPU priority; 0: each worker scores bulk requests
    # on its own bulk lane's threads (serving.lanes), one model in memory fewer per process.
    bulk_processes: int = Field(1, ge=0)
    bulk_threads: int = Field(1, ge=1)  # per bulk process (or per worker without a pool)
    bulk_queue: int = Field(4, ge=0)  # bulk requests waiting per bulk process; more get 429
    bulk_per_key: int = Field(2, ge=1)  # places in one bulk process's lane a key may hold
    # Set by serving.server, not by hand: where the workers reach the bulk pool, and whether
    # this process is one of the pool's.
    bulk_socket: str | None = None
    bulk_pool: bool = False
    max_in_flight: int = Field(256, ge=1)  # requests in progress per worker; more get 503
    # On SIGTERM: answer /readyz 503 and keep serving this long (load balancers stop sending),
    # then stop accepting, finish the requests in flight, flush and exit.
    drain_seconds: float = Field(5.0, ge=0)

    @property
    def keys_file(self) -> Path:
        return self.state_dir / "api-keys.json"

    @property
    def audit_dir(self) -> Path:
        return self.state_dir / "audit"

    @property
    def outcomes_db(self) -> Path:
        return self.state_dir / "outcomes.sqlite"

    @property
    def alerts_db(self) -> Path:
        """Analysts' alerts, watch lists and the declarations alerts selected."""
        return self.state_dir / "alerts.sqlite"

    @property
    def selections_db(self) -> Path:
        """How each scored declaration was selected for control, and how likely that was."""
        return self.state_dir / "selections.sqlite"

    @property
    def model_cache_dir(self) -> Path:
        return self.state_dir / "model-cache"
