"""Every span name, attribute key and resource key otel-kedro emits, in one place.

OpenTelemetry semantic conventions are used where they fit (CICD, process, code, error);
Kedro-specific facts live under ``kedro.*``.
"""

from __future__ import annotations

from typing import Final

INSTRUMENTATION_SCOPE: Final = "otel_kedro"
# The semantic conventions these names follow, as the schema URL of every scope and metric.
SCHEMA_URL: Final = "https://opentelemetry.io/schemas/1.44.0"

# Span names.
COMMAND_SPAN_PREFIX: Final = "kedro"
RUN_SPAN_PREFIX: Final = "RUN"
LOAD_SPAN_PREFIX: Final = "LOAD"
SAVE_SPAN_PREFIX: Final = "SAVE"
STARTUP_SPAN_PREFIX: Final = "STARTUP"  # STARTUP bootstrap|session|pipelines|catalog

# Resource.
SERVICE_NAME: Final = "service.name"

# Command span (process semantic conventions).
PROCESS_COMMAND_ARGS: Final = "process.command_args"
PROCESS_EXIT_CODE: Final = "process.exit.code"
PROCESS_PID: Final = "process.pid"

# Startup phase spans (children of the command span; see sources/kedro/startup.py).
KEDRO_STARTUP_PHASE: Final = "kedro.startup.phase"

# Run span (CICD semantic conventions plus Kedro facts).
CICD_PIPELINE_NAME: Final = "cicd.pipeline.name"
CICD_PIPELINE_RUN_ID: Final = "cicd.pipeline.run.id"
CICD_PIPELINE_RESULT: Final = "cicd.pipeline.result"
KEDRO_RUNNER: Final = "kedro.runner"
KEDRO_ENV: Final = "kedro.env"
KEDRO_SESSION_ID: Final = "kedro.session.id"
KEDRO_VERSION: Final = "kedro.version"
KEDRO_PIPELINE_NAMES: Final = "kedro.pipeline.names"
KEDRO_PIPELINE_NODE_COUNT: Final = "kedro.pipeline.nodes.count"
KEDRO_PROJECT_DATASET_COUNT: Final = "kedro.project.datasets.count"
KEDRO_PROJECT_NODE_COUNT: Final = "kedro.project.nodes.count"
KEDRO_PROJECT_PIPELINE_COUNT: Final = "kedro.project.pipelines.count"
KEDRO_PROJECT_DATASET_TYPE_COUNT_PREFIX: Final = "kedro.project.dataset_type_count."

# cicd.pipeline.result / cicd.pipeline.task.run.result values.
RESULT_SUCCESS: Final = "success"
RESULT_FAILURE: Final = "failure"
RESULT_CANCELLATION: Final = "cancellation"

# Node span.
CICD_TASK_NAME: Final = "cicd.pipeline.task.name"
CICD_TASK_RUN_RESULT: Final = "cicd.pipeline.task.run.result"
KEDRO_NODE_NAMESPACE: Final = "kedro.node.namespace"
KEDRO_NODE_TAGS: Final = "kedro.node.tags"
KEDRO_NODE_INPUTS: Final = "kedro.node.inputs"
KEDRO_NODE_OUTPUTS: Final = "kedro.node.outputs"
CODE_FUNCTION_NAME: Final = "code.function.name"
CODE_FILE_PATH: Final = "code.file.path"
CODE_LINE_NUMBER: Final = "code.line.number"
# The thread a node ran on (general semantic conventions): with process.pid of the resource,
# the lane of the node in `otel-kedro show` and the report.
THREAD_ID: Final = "thread.id"
THREAD_NAME: Final = "thread.name"
# Node usage (see sources/node_usage.py for what each figure means and when it is exact).
KEDRO_NODE_CPU_TIME: Final = "kedro.node.cpu.time"
KEDRO_NODE_MEMORY_PEAK: Final = "kedro.node.memory.peak"
KEDRO_NODE_MEMORY_PEAK_EXACT: Final = "kedro.node.memory.peak.exact"
KEDRO_NODE_MEMORY_DELTA: Final = "kedro.node.memory.delta"
KEDRO_NODE_USAGE_SCOPE: Final = "kedro.node.usage.scope"
USAGE_SCOPE_PROCESS: Final = "process"  # the node had its process to itself: all figures its own
USAGE_SCOPE_THREAD: Final = "thread"  # concurrent nodes share the process: CPU of its thread only

# Dataset span.
KEDRO_DATASET_NAME: Final = "kedro.dataset.name"
KEDRO_DATASET_TYPE: Final = "kedro.dataset.type"
KEDRO_DATASET_ROWS: Final = "kedro.dataset.rows"

# Errors.
ERROR_TYPE: Final = "error.type"
# Exceptions, on log records and span events (exception semantic conventions).
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"

# Provenance: the code (command and run spans), the parameters (run span), the data (dataset
# spans). vcs.* and file.* follow the semantic conventions.
VCS_REF_HEAD_REVISION: Final = "vcs.ref.head.revision"
VCS_REF_HEAD_NAME: Final = "vcs.ref.head.name"
VCS_REF_HEAD_TYPE: Final = "vcs.ref.head.type"
VCS_REF_TYPE_BRANCH: Final = "branch"
VCS_REPOSITORY_URL_FULL: Final = "vcs.repository.url.full"
KEDRO_VCS_DIRTY: Final = "kedro.vcs.dirty"  # tracked files differ from the revision
KEDRO_PARAMS_HASH: Final = "kedro.params.hash"  # keyed hash of every parameter the run saw
FILE_PATH: Final = "file.path"
FILE_SIZE: Final = "file.size"
KEDRO_DATASET_VERSION: Final = "kedro.dataset.version"
KEDRO_DATASET_SHA256: Final = "kedro.dataset.sha256"  # opt-in: provenance_hashes

# --- Metrics (process semantic conventions 1.44, plus Kedro durations) ---------------------
# Process-tree samples: tree totals carry no pid; per-process points carry the three keys below.
PROCESS_CPU_TIME: Final = "process.cpu.time"
PROCESS_CPU_UTILIZATION: Final = "process.cpu.utilization"
PROCESS_MEMORY_USAGE: Final = "process.memory.usage"
PROCESS_MEMORY_VIRTUAL: Final = "process.memory.virtual"
PROCESS_THREAD_COUNT: Final = "process.thread.count"
PROCESS_FILE_DESCRIPTOR_COUNT: Final = "process.unix.file_descriptor.count"
PROCESS_DISK_IO: Final = "process.disk.io"
KEDRO_PROCESS_MEMORY_PEAK: Final = "kedro.process.memory.peak"
KEDRO_PROCESS_MEMORY_PSS: Final = "kedro.process.memory.pss"
# Kedro durations (histograms, seconds).
KEDRO_NODE_DURATION: Final = "kedro.node.duration"
KEDRO_DATASET_LOAD_DURATION: Final = "kedro.dataset.load.duration"
KEDRO_DATASET_SAVE_DURATION: Final = "kedro.dataset.save.duration"
KEDRO_RUN_DURATION: Final = "kedro.run.duration"
# Metric attribute keys and values.
PROCESS_PARENT_PID: Final = "process.parent_pid"
PROCESS_EXECUTABLE_NAME: Final = "process.executable.name"
CPU_MODE: Final = "cpu.mode"
CPU_MODE_USER: Final = "user"
CPU_MODE_SYSTEM: Final = "system"
DISK_IO_DIRECTION: Final = "disk.io.direction"
DISK_IO_READ: Final = "read"
DISK_IO_WRITE: Final = "write"
# --- end of metrics ------------------------------------------------------------------------
