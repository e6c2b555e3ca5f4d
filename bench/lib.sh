# Shared by the bench scripts (sourced).
#
# podman_env DIR [CONTAINERS_LINES] [NETWORK_LINES]: a podman of its own
# under DIR (overlay storage, the cgroupfs manager, events in a file, the
# host's ulimits: podman's nofile=1048576 default needs CAP_SYS_RESOURCE,
# which root lacks on some hosts), exported as CONTAINERS_CONF and
# CONTAINERS_STORAGE_CONF; the lines go into [containers] and [network].
podman_env() {
    local dir=$1 containers=${2:-} network=${3:-}
    mkdir -p "$dir/storage" "$dir/runroot" "$dir/tmp"
    cat > "$dir/storage.conf" <<EOT
[storage]
driver = "overlay"
graphroot = "$dir/storage"
runroot = "$dir/runroot"
EOT
    local nofile nproc
    nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
    nproc=$(ulimit -Hu); { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
    cat > "$dir/containers.conf" <<EOT
[containers]
$containers
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[network]
$network
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
tmp_dir = "$dir/tmp"
EOT
    export CONTAINERS_CONF=$dir/containers.conf CONTAINERS_STORAGE_CONF=$dir/storage.conf
}
