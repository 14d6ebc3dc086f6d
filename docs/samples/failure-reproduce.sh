#!/bin/sh
# one command per failing case and implementation
.venv/bin/backprop-harness run reports/docs-failure/failing/jax-elu-tail.json --impl jax --baseline reference --runxfail --out reports/docs-failure/failing/rerun-jax-elu-tail-jax --force
