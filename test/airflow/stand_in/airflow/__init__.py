"""A stand-in for the parts of Apache Airflow 2 that an executor touches.

Airflow cannot be installed on the test machines, so the executor's tests put this
package first on sys.path. It mirrors Airflow 2.x's own behaviour (from apache/airflow
airflow/executors/base_executor.py, airflow/configuration.py,
airflow/models/taskinstancekey.py, airflow/utils/state.py): the names, signatures,
state values and call order are Airflow's; metrics, tracing and the CLI are left out.
"""
