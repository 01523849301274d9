"""Configuration from the environment (prefix RISKSCORE_) or a .env file."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings shared by the CLI, training jobs and the scoring service."""

    model_config = SettingsConfigDict(env_prefix="RISKSCORE_", env_file=".env", extra="ignore")

    store_dir: Path = Path("store")
    demo_dir: Path = Path("demo")
    mlruns_dir: Path = Path("mlruns")
    tracking_uri: str | None = None  # MLFLOW_TRACKING_URI also works; default: SQLite in mlruns/
    model_name: str = "customs-risk"
    model_alias: str = "champion"
    host: str = "127.0.0.1"
    port: int = 8000


@cache
def get_settings() -> Settings:
    return Settings()
