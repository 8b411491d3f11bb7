"""A stand-in for the parts of Apache Airflow 3 that an executor touches.

Airflow cannot be installed on the test machines, so the executor's tests put this
package first on sys.path when they run as Airflow 3 (MESOFLOW_TEST_AIRFLOW=3). It
mirrors apache/airflow @ 4bf2df84 (3.2 development, March 2026):
airflow-core/src/airflow/executors/base_executor.py, executors/workloads/ (base.py,
task.py), airflow-core/src/airflow/configuration.py, models/taskinstancekey.py,
utils/state.py, and task-sdk/src/airflow/sdk/execution_time/execute_workload.py. Names,
signatures, state values, the workload JSON and the call order are Airflow's; pydantic,
metrics, tracing, callbacks and connection tests are left out.
"""

__version__ = "3.2.0"
