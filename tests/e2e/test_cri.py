"""The Kubernetes CRI path: containerd's CRI plugin (the same private containerd) running pods
on the runtime under test, driven over gRPC like a kubelet.

crictl (cri-tools) is not packaged in Debian 12; the CRI client here is the PyPI package
``container-runtime-interface-api`` (module ``cri_api``: generated CRI v1 stubs, with grpcio
and protobuf). Pods use the host network (there is no CNI plugin setup here); the sandbox
(pause) image is the busybox rootfs sleeping forever.
"""

import json
import os
import uuid

import pytest

from tests.e2e import clients

cri = pytest.importorskip(
    "cri_api.v1.api_pb2",
    reason="CRI client library not installed: pip install container-runtime-interface-api")
grpc = pytest.importorskip("grpc")
from cri_api.v1.api_pb2_grpc import RuntimeServiceStub  # noqa: E402


class Cri:
    def __init__(self, containerd):
        self.containerd = containerd
        self.channel = grpc.insecure_channel("unix://" + containerd.sock)
        self.rt = RuntimeServiceStub(self.channel)
        self.pods = []

    def run_pod(self):
        uid = uuid.uuid4().hex[:12]
        cfg = cri.PodSandboxConfig(
            metadata=cri.PodSandboxMetadata(name="pod-" + uid, uid=uid, namespace="e2e"),
            log_directory=os.path.join(self.containerd.cri_logs, uid),
            linux=cri.LinuxPodSandboxConfig(security_context=cri.LinuxSandboxSecurityContext(
                namespace_options=cri.NamespaceOption(network=cri.NODE))))
        pod = self.rt.RunPodSandbox(cri.RunPodSandboxRequest(config=cfg), timeout=60)
        self.pods.append(pod.pod_sandbox_id)
        return pod.pod_sandbox_id, cfg

    def create(self, pod, pod_cfg, name, command, **linux):
        cfg = cri.ContainerConfig(
            metadata=cri.ContainerMetadata(name=name),
            image=cri.ImageSpec(image=clients.IMAGE), command=command, log_path=name + ".log",
            linux=cri.LinuxContainerConfig(**linux) if linux else None)
        return self.rt.CreateContainer(cri.CreateContainerRequest(
            pod_sandbox_id=pod, config=cfg, sandbox_config=pod_cfg), timeout=60).container_id

    def start(self, cid):
        self.rt.StartContainer(cri.StartContainerRequest(container_id=cid), timeout=60)

    def status(self, cid):
        return self.rt.ContainerStatus(cri.ContainerStatusRequest(container_id=cid),
                                       timeout=30).status

    def state(self, cid):
        return cri.ContainerState.Name(self.status(cid).state)

    def runtime_state(self, cid):
        r = clients.run([self.containerd.stack.runc, "--root",
                         os.path.join(self.containerd.cri_root, clients.CRI_NAMESPACE),
                         "state", cid], timeout=20)
        return json.loads(r.out) if r.code == 0 else None

    def close(self):
        for pod in self.pods:
            try:
                self.rt.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=60)
                self.rt.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=pod),
                                         timeout=60)
            except grpc.RpcError:
                pass
        self.channel.close()


@pytest.fixture
def k8s(containerd_session):
    containerd_session.cri_prepare()
    c = Cri(containerd_session)
    yield c
    c.close()


def test_cri_pod_lifecycle(k8s):
    pod, pod_cfg = k8s.run_pod()
    cid = k8s.create(pod, pod_cfg, "main", ["sh", "-c", "echo hello-cri; exec sleep 600"])
    k8s.start(cid)
    assert k8s.state(cid) == "CONTAINER_RUNNING"
    st = k8s.runtime_state(cid)          # this runtime created it
    assert st and st["status"] == "running", st
    assert clients.cmdline(st["pid"]) == ["sleep", "600"]
    r = k8s.rt.ExecSync(cri.ExecSyncRequest(container_id=cid, timeout=20, cmd=[
        "sh", "-c", "echo in-$(cat /proc/$$/cgroup | grep -c memory); exit 3"]), timeout=30)
    assert r.exit_code == 3 and r.stdout.startswith(b"in-1"), r
    stats = k8s.rt.ContainerStats(cri.ContainerStatsRequest(container_id=cid), timeout=30)
    assert stats.stats.memory.working_set_bytes.value > 0, stats
    k8s.rt.StopContainer(cri.StopContainerRequest(container_id=cid, timeout=2), timeout=60)
    s = k8s.status(cid)
    assert cri.ContainerState.Name(s.state) == "CONTAINER_EXITED"
    assert s.exit_code == 143, s                 # SIGTERM: sleep is not pid 1 (pod pid ns)
    with open(s.log_path) as f:
        assert "stdout F hello-cri" in f.read()
    k8s.rt.RemoveContainer(cri.RemoveContainerRequest(container_id=cid), timeout=60)
    assert k8s.runtime_state(cid) is None


def test_cri_exit_code(k8s):
    pod, pod_cfg = k8s.run_pod()
    cid = k8s.create(pod, pod_cfg, "ex", ["sh", "-c", "exit 3"])
    k8s.start(cid)
    clients.wait_for(lambda: k8s.state(cid) == "CONTAINER_EXITED", what="the container to exit")
    assert k8s.status(cid).exit_code == 3


def test_cri_update_resources(k8s):
    """UpdateContainerResources -> ``<runtime> update --resources - ID`` (JSON on stdin)."""
    pod, pod_cfg = k8s.run_pod()
    cid = k8s.create(pod, pod_cfg, "upd", ["sleep", "600"])
    k8s.start(cid)
    pid = k8s.runtime_state(cid)["pid"]
    k8s.rt.UpdateContainerResources(cri.UpdateContainerResourcesRequest(
        container_id=cid, linux=cri.LinuxContainerResources(
            memory_limit_in_bytes=200 << 20, cpu_period=100000, cpu_quota=30000)), timeout=60)
    assert clients.cgroup_read(pid, "memory", "memory.limit_in_bytes") == str(200 << 20)
    assert clients.cgroup_read(pid, "cpu", "cpu.cfs_quota_us") == "30000"
