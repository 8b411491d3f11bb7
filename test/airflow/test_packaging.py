"""The executor as an Airflow provider package: deploy/airflow/pyproject.toml builds and
installs offline with Debian's setuptools (`pip install --no-build-isolation --no-index`),
registers the `apache_airflow_provider` entry point whose get_provider_info describes the
[mesoflow] section, and `[core] executor = mesoflow_executor.MesoflowExecutor` loads the
installed module, as Airflow's ExecutorLoader imports it (module path, class name).

Needs python3-pip, python3-setuptools and python3-wheel (deploy/install-deps.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import executor_fixture as fx

INSTALL_TIMEOUT_S = 120


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mesoflow-airflow-package-")
        # Built from a copy: an in-tree build would leave build/ and *.egg-info behind.
        cls.source = os.path.join(cls.work, "source")
        shutil.copytree(fx.EXECUTOR_DIR, cls.source, ignore=shutil.ignore_patterns("__pycache__", "build",
                                                                                  "*.egg-info"))
        cls.target = os.path.join(cls.work, "site")
        cls.install = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps",
             "--no-cache-dir", "--disable-pip-version-check", "--target", cls.target, cls.source],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT_S,
            env=fx.hermetic_env(PIP_NO_INPUT="1"),
        )

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def run_python(self, code, with_airflow=True):
        """A child interpreter that sees the installed package (and the stand-in Airflow),
        not deploy/airflow."""
        path = [self.target] + ([fx.STAND_IN_DIR] if with_airflow else [])
        done = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60, cwd=self.work, env=fx.hermetic_env(PYTHONPATH=os.pathsep.join(path)))
        self.assertEqual(done.returncode, 0, done.stderr.decode())
        return json.loads(done.stdout)

    def test_pip_installs_it_offline_with_debians_setuptools(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout.decode())
        installed = sorted(os.listdir(self.target))
        self.assertIn("mesoflow_executor.py", installed)
        self.assertIn("airflow_provider_mesoflow-0.1.0.dist-info", installed)

    def test_the_provider_entry_point_gives_the_provider_info_with_its_config_section(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout.decode())
        info = self.run_python(
            "import json, importlib.metadata as m\n"
            "eps = [e for e in m.entry_points(group='apache_airflow_provider')]\n"
            "dist = m.distribution('airflow-provider-mesoflow')\n"
            "print(json.dumps({'eps': [(e.name, e.value) for e in eps], 'info': eps[0].load()(),\n"
            "                  'requires': dist.requires}))", with_airflow=False)
        self.assertEqual(info["eps"], [["provider_info", "mesoflow_executor:get_provider_info"]])
        self.assertEqual(info["info"]["package-name"], "airflow-provider-mesoflow")
        self.assertEqual(info["info"]["executors"], ["mesoflow_executor.MesoflowExecutor"])
        self.assertIn("execution_api_server_url", info["info"]["config"]["mesoflow"]["options"])
        self.assertEqual([r.replace(" ", "").replace("(", "").replace(")", "") for r in info["requires"]],
                         ["psycopg2>=2.8"])

    def test_the_core_executor_setting_loads_the_installed_executor(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout.decode())
        # What ExecutorLoader does with "mesoflow_executor.MesoflowExecutor".
        got = self.run_python(
            "import importlib, json\n"
            "module, name = 'mesoflow_executor.MesoflowExecutor'.rsplit('.', 1)\n"
            "cls = getattr(importlib.import_module(module), name)\n"
            "from airflow.executors.base_executor import BaseExecutor\n"
            "print(json.dumps({'file': importlib.import_module(module).__file__,\n"
            "                  'subclass': issubclass(cls, BaseExecutor)}))")
        self.assertEqual(got, {"file": os.path.join(self.target, "mesoflow_executor.py"), "subclass": True})

    def test_the_installed_module_is_the_drop_in_file(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout.decode())
        with open(os.path.join(self.target, "mesoflow_executor.py"), "rb") as a, \
                open(os.path.join(fx.EXECUTOR_DIR, "mesoflow_executor.py"), "rb") as b:
            self.assertEqual(a.read(), b.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
