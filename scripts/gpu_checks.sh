#!/usr/bin/env bash
# The JAX back end's figures on a GPU (issue 29), as one short script for a lent accelerator.
#
#   bash scripts/gpu_checks.sh fetch     # here, with internet: the wheels the GPU image lacks, into .whl/
#   bash scripts/gpu_checks.sh run       # there (the device tool, carry: [".whl"]): every measurement, into $OUT
#
# The GPU image has JAX with CUDA, NumPy, PyYAML, rich and matplotlib; Echelon also needs pydantic,
# Gymnasium and PettingZoo, which travel as wheels. Every figure is printed by a command Echelon ships,
# so anyone can rerun it. About 8 minutes on an H200 (run it with timeout_s 600).
set -uo pipefail
cd "$(dirname "$0")/.."
case "${1:-run}" in
fetch)
    grep -qx '/.whl/' .git/info/exclude || echo /.whl/ >> .git/info/exclude
    for spec in pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
                gymnasium==1.2.2 pettingzoo==1.27.0 farama-notifications==0.0.4 cloudpickle==3.1.3; do
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any -d .whl "$spec"
    done
    ls .whl
    ;;
run)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site:$PWD || exit 1
    export PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/out}
    mkdir -p "$OUT"
    e() { echo "\$ echelon $*"; /usr/bin/time -f "(%e s wall, %U s user)" python3 -m echelon "$@"; echo; }
    {
        nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
        python3 -c "import jax; print('jax', jax.__version__, jax.devices())"
        # the beer game up to batch 2^22 (goal: >= 5e9 site-steps/s), and distribution
        e speed --backend jax --scenario beer_game --batches 1024,65536,1048576,4194304 --no-numpy
        e speed --backend jax --scenario distribution --batches 1024,65536,1048576 --no-numpy
        # the planner network's year at batch 1024 (goal: under 10 s)
        e speed --backend jax --scenario planner_network --batches 1024 --no-numpy
        # the same numbers in float64 for the record
        e speed --backend jax --scenario beer_game --batches 1048576 --no-numpy --dtype float64
        # searches and benchmarks on the device
        e optimal distribution --method simulation --backend jax
        e benchmark heuristics --backend jax --out "$OUT/heuristics"
        e benchmark planner_network --backend jax --out "$OUT/planner"
        # training on the device (goal for ES: within 1% of Clark-Scarf in under 60 s including compilation)
        e train es_textbook_jax --out "$OUT/es"
        e train ppo_jax_textbook --out "$OUT/ppo"
        # Zipkin's lost-sales instance, Poisson(5), p = 9, at his lead times 6, 7 and 8 (Echelon's 7, 8, 9):
        # exact by the device's value iteration (L = 8: 2.37e9 values, an H200's memory)
        for L in 6 7 8; do
            printf 'name: zipkin_L%s_p9\nperiods: 100\ndemand: {r: {kind: poisson, mean: 5}}\nsites:\n' "$L" \
                > "/tmp/zipkin_L$L.yaml"
            printf '  - {name: r, lead_time: %s, holding_cost: 1, unmet: lost, lost_sales_cost: 9}\n' \
                "$((L + 1))" >> "/tmp/zipkin_L$L.yaml"
            e optimal "/tmp/zipkin_L$L.yaml" --method dp --backend jax --json --optimum-only
        done
    } 2>&1 | tee "$OUT/gpu_checks.log"
    ;;
*)
    echo "usage: bash scripts/gpu_checks.sh fetch|run" >&2
    exit 2
    ;;
esac
