"""Calls a Spindle RM's REST API through the PyPI package yarn-api-client, as Jupyter Enterprise
Gateway and other tools do, and prints what it read as one JSON object (the Rust test checks it).

Usage: yarn_api_client_walk.py <rm web base URL> <application id> <owner> <expect capacity queue>
"""
import json
import sys

from yarn_api_client.auth import SimpleAuth
from yarn_api_client.errors import APIError
from yarn_api_client.resource_manager import ResourceManager

base, app_id, owner, capacity = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "true"
out = {}
rm = ResourceManager(service_endpoints=[base])
out["active"] = rm.get_active_endpoint()
out["info"] = rm.cluster_information().data
out["metrics"] = rm.cluster_metrics().data
out["scheduler"] = rm.cluster_scheduler().data
if capacity:
    out["default_queue"] = rm.cluster_scheduler_queue("default")
out["apps"] = rm.cluster_applications(states=["ACCEPTED", "RUNNING"]).data
out["app"] = rm.cluster_application(app_id).data
out["attempts"] = rm.cluster_application_attempts(app_id).data
out["nodes"] = rm.cluster_nodes().data
out["state_before"] = rm.cluster_application_state(app_id).data


def kill_as(auth):
    client = ResourceManager(service_endpoints=[base], auth=auth)
    try:
        return {"accepted": client.cluster_application_kill(app_id).data}
    except APIError as e:
        return {"refused": str(e)}


out["anonymous_kill"] = kill_as(None)
out["other_user_kill"] = kill_as(SimpleAuth("mallory"))
out["owner_kill"] = kill_as(SimpleAuth(owner))
print(json.dumps(out))
