"""Spark on Spindle vs Spark on its own standalone cluster manager, same machine, same executors.

Runs the same PySpark job (benches/spark_job.py) several times on each, interleaved:
  * Spindle, cluster mode (driver in the AM) and client mode, on `spindle minicluster`;
  * Spark standalone (Master + one Worker from the same pyspark package), client mode
    (standalone cannot run Python applications in cluster mode).
Prints, for each, the median / min / max of the spark-submit wall time and of the time from
launching spark-submit to all executors registered with the driver. Usage:
    scripts/bench-spark [--runs N]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXECUTORS = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_env(extra=None):
    env = dict(os.environ)
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env.pop("SPARK_HOME", None)
    env["PATH"] = os.path.join(PYSPARK, "bin") + ":" + env.get("PATH", "")
    env.update(extra or {})
    return env


def submit(master_args, mode, conf_dir=None):
    now_ms = int(time.time() * 1000)
    args = [os.path.join(PYSPARK, "bin", "spark-submit")] + master_args + [
        "--deploy-mode", mode, "--executor-cores", "1", "--executor-memory", "512m",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.executorEnv.SPARK_LOCAL_IP=127.0.0.1",
        "--conf", "spark.yarn.appMasterEnv.SPARK_LOCAL_IP=127.0.0.1",
        "--conf", f"spark.yarn.appMasterEnv.BENCH_SUBMIT_EPOCH_MS={now_ms}",
        "--conf", f"spark.yarn.appMasterEnv.BENCH_EXECUTORS={EXECUTORS}",
        os.path.join(ROOT, "benches", "spark_job.py"),
    ]
    env = spark_env({"BENCH_SUBMIT_EPOCH_MS": str(now_ms), "BENCH_EXECUTORS": str(EXECUTORS)})
    if conf_dir:
        env["HADOOP_CONF_DIR"] = conf_dir
    started = time.monotonic()
    out = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    text = out.stdout + out.stderr
    if out.returncode != 0:
        sys.exit(f"spark-submit failed ({' '.join(master_args)} {mode}):\n{text[-3000:]}")
    return wall, text


def registered_ms(text, conf_dir=None):
    m = re.search(r"EXECUTORS_REGISTERED_MS (\d+)", text)
    if m:
        return int(m.group(1))
    # Cluster mode: the driver printed it into the AM container's stdout.
    app = re.search(r"(application_\d+_\d+)", text).group(1)
    logs = subprocess.run([SPINDLE, "--conf-dir", conf_dir, "logs", "-applicationId", app, "-log_files", "stdout"],
                          capture_output=True, text=True).stdout
    return int(re.search(r"EXECUTORS_REGISTERED_MS (\d+)", logs).group(1))


def summary(values):
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main():
    global PYSPARK, SPINDLE
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--spindle", default=os.path.join(ROOT, "target", "release", "spindle"))
    a = parser.parse_args()
    SPINDLE = a.spindle
    PYSPARK = subprocess.run([os.path.join(ROOT, "scripts", "ensure-pyspark")], capture_output=True, text=True, check=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="spindle-bench-")
    procs = []
    try:
        mc = subprocess.Popen([SPINDLE, "minicluster", "--nodes", "2", "--dir", os.path.join(work, "mc")],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env=dict(os.environ, SPINDLE_LOG="warn"))
        procs.append(mc)
        conf_dir = None
        for line in mc.stdout:
            if "export HADOOP_CONF_DIR=" in line:
                conf_dir = line.split("=", 1)[1].strip()
                break
        port = free_port()
        master = subprocess.Popen([os.path.join(PYSPARK, "bin", "spark-class"), "org.apache.spark.deploy.master.Master",
                                   "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(free_port())],
                                  env=spark_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(master)
        url = f"spark://127.0.0.1:{port}"
        worker = subprocess.Popen([os.path.join(PYSPARK, "bin", "spark-class"), "org.apache.spark.deploy.worker.Worker",
                                   "--host", "127.0.0.1", "--cores", str(EXECUTORS), "--memory", "2g",
                                   "--webui-port", str(free_port()), "--work-dir", os.path.join(work, "worker"), url],
                                  env=spark_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(worker)
        time.sleep(5)  # let the worker register with the master before the first run
        jars = f"spark.yarn.jars=local:{PYSPARK}/jars/*"
        setups = {
            "Spindle, cluster mode": (["--master", "yarn", "--num-executors", str(EXECUTORS), "--conf", jars], "cluster", conf_dir),
            "Spindle, client mode": (["--master", "yarn", "--num-executors", str(EXECUTORS), "--conf", jars], "client", conf_dir),
            "Spark standalone, client mode": (["--master", url, "--total-executor-cores", str(EXECUTORS)], "client", None),
        }
        results = {name: ([], []) for name in setups}
        for run in range(a.runs + 1):  # the first round warms caches and is not counted
            for name, (args, mode, conf) in setups.items():
                wall, text = submit(args, mode, conf)
                reg = registered_ms(text, conf) / 1000.0
                if run > 0:
                    results[name][0].append(wall)
                    results[name][1].append(reg)
        print(f"| setup ({EXECUTORS} executors, 1 core, 512m each) | spark-submit wall s, median (min-max) | submit to all executors registered s, median (min-max) |")
        print("|---|---|---|")
        for name, (walls, regs) in results.items():
            print(f"| {name} | {summary(walls)} | {summary(regs)} |")
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT if p is procs[0] else signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
