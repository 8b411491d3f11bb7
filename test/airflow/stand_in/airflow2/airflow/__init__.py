"""A stand-in for the parts of Apache Airflow 2.10/2.11 that an executor touches.

Airflow cannot be installed on the test machines, so the executor's tests put this
package first on sys.path. It mirrors apache/airflow @ 2.10.3 and @ v2-11-stable:
airflow/executors/base_executor.py, airflow/configuration.py,
airflow/models/taskinstancekey.py, airflow/utils/state.py (names, signatures, state
values and call order are Airflow's; metrics, tracing and the CLI are left out).
"""

__version__ = "2.11.0"
