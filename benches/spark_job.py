"""The benchmark job: waits for its executors, reports when they registered, computes a sum."""
import os
import sys
import time

from pyspark.sql import SparkSession

wanted = int(os.environ.get("BENCH_EXECUTORS", "2"))
submitted_ms = int(os.environ["BENCH_SUBMIT_EPOCH_MS"])
spark = SparkSession.builder.appName("spindle-bench").getOrCreate()
sc = spark.sparkContext
while sc._jsc.sc().getExecutorMemoryStatus().size() - 1 < wanted:
    time.sleep(0.02)
print("EXECUTORS_REGISTERED_MS", int(time.time() * 1000) - submitted_ms, flush=True)
print("RESULT", sc.parallelize(range(1, 100001), 4).map(lambda x: x * x).sum(), flush=True)
spark.stop()
