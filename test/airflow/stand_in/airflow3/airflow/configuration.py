"""Stand-in of Airflow 3's `conf` (an AirflowConfigParser). Mirrors apache/airflow
airflow-core/src/airflow/configuration.py @ 4bf2df84.

As in Airflow: AIRFLOW__<SECTION>__<KEY> beats the file; the file is $AIRFLOW_CONFIG
(else $AIRFLOW_HOME/airflow.cfg); get() without a fallback raises
AirflowConfigException for a missing key; getfloat() raises it for a value that is not a
number; set() and remove_option() change the in-memory configuration (what Airflow's
own tests use through conf_vars).
"""

from __future__ import annotations

import configparser
import os

_UNSET = object()


class AirflowConfigException(Exception):
    pass


class AirflowConfigParser(configparser.ConfigParser):
    def __init__(self):
        super().__init__(strict=False)

    @staticmethod
    def _env_var_name(section: str, key: str) -> str:
        return f"AIRFLOW__{section.upper()}__{key.upper()}"

    def get(self, section, key, fallback=_UNSET, **kwargs):  # type: ignore[override]
        section, key = str(section).lower(), str(key).lower()
        env = self._env_var_name(section, key)
        if env in os.environ:
            return os.environ[env]
        if super().has_option(section, key):
            return super().get(section, key, **kwargs)
        if fallback is not _UNSET:
            return fallback
        raise AirflowConfigException(f"section/key [{section}/{key}] not found in config")

    def getfloat(self, section, key, fallback=_UNSET, **kwargs):  # type: ignore[override]
        value = self.get(section, key, fallback=fallback)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise AirflowConfigException(
                f'Failed to convert value to float. Please check "{key}" key in "{section}" section. '
                f'Current value: "{value}".'
            ) from None

    def getint(self, section, key, fallback=_UNSET, **kwargs):  # type: ignore[override]
        value = self.get(section, key, fallback=fallback)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise AirflowConfigException(
                f'Failed to convert value to int. Please check "{key}" key in "{section}" section. '
                f'Current value: "{value}".'
            ) from None

    def set(self, section, option, value=None):  # type: ignore[override]
        section = str(section).lower()
        if not self.has_section(section):
            self.add_section(section)
        super().set(section, str(option).lower(), value)

    def remove_option(self, section, option, remove_default=True):  # type: ignore[override]
        section = str(section).lower()
        if self.has_section(section):
            super().remove_option(section, str(option).lower())


def _load() -> AirflowConfigParser:
    parser = AirflowConfigParser()
    path = os.environ.get("AIRFLOW_CONFIG") or os.path.join(
        os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow"), "airflow.cfg"
    )
    parser.read(path)
    return parser


conf = _load()
