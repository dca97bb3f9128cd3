"""What a benchmark ran on: the CPU, its vector extensions, the BLAS kernel, the versions."""

import platform
import re
from pathlib import Path

# The instruction-set flags that decide how fast the BLAS kernels can be.
_VECTOR_FLAG = re.compile(r"^(sse4_2|avx|avx2|fma|avx_vnni|avx512\w*|amx\w*)$")


def _cpuinfo():
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_model():
    """str: the CPU's model name (``/proc/cpuinfo``), else what ``platform`` says."""
    match = re.search(r"^model name\s*:\s*(.+)$", _cpuinfo(), re.MULTILINE)
    return match.group(1).strip() if match else platform.processor() or platform.machine()


def vector_extensions():
    """list of str: the CPU's SIMD flags (SSE4.2, AVX, AVX2, FMA, AVX-512, AMX)."""
    match = re.search(r"^flags\s*:\s*(.+)$", _cpuinfo(), re.MULTILINE)
    flags = match.group(1).split() if match else []
    return sorted({flag for flag in flags if _VECTOR_FLAG.match(flag)})


def describe_pool(pool):
    """One threadpoolctl pool as text: library, version, kernel, threads."""
    kernel = pool.get("architecture")
    return (
        f"{pool.get('internal_api')} {pool.get('version')}"
        + (f", {kernel} kernels" if kernel else "")
        + f", {pool.get('num_threads')} threads ({Path(pool.get('filepath', '')).name})"
    )


def library_versions(contender):
    """dict: the versions that matter to a NumPy-based contender."""
    import numpy
    import scipy
    import sklearn

    import hdrnn
    from hdrnn.nn import compiled_kernels

    versions = {
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "hdrnn": hdrnn.__version__,
    }
    if contender.startswith("hdrnn"):
        kernels = compiled_kernels()
        versions["compiled kernels"] = "on" if kernels is not None else "off"
        if kernels is not None:
            import numba

            versions["numba"] = numba.__version__
    return versions


def torch_versions():
    """dict: PyTorch's version, threads and the math libraries built into it."""
    import torch

    return {
        "torch": torch.__version__,
        "torch threads": torch.get_num_threads(),
        "MKL": torch.backends.mkl.is_available(),
        "oneDNN": torch.backends.mkldnn.is_available(),
    }
