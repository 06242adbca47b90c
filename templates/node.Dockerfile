# Node image for the streamstack local lab: a systemd host, like a lab VM.
# BASE is either a local debian:bookworm image or the debootstrapped rootfs. The bare
# host image (VMs as they come) is made from the same recipe with fewer PACKAGES.
ARG BASE=debian:bookworm
FROM ${BASE}
ARG PACKAGES
ENV container=docker DEBIAN_FRONTEND=noninteractive
# Install only what the base lacks: the debootstrapped base already has everything,
# so that path needs no network at build time.
RUN if ! dpkg -s ${PACKAGES} >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends ${PACKAGES} \
      && rm -rf /var/lib/apt/lists/*; \
    fi
# Units that make no sense in a container host, or that would block boot.
RUN systemctl mask getty.target console-getty.service systemd-firstboot.service \
      systemd-udevd.service systemd-udev-trigger.service systemd-modules-load.service \
      sys-kernel-config.mount sys-kernel-debug.mount sys-fs-fuse-connections.mount \
      systemd-remount-fs.service apt-daily.timer apt-daily-upgrade.timer \
    && if [ -e /lib/systemd/system/prometheus.service ]; then systemctl disable prometheus.service; fi \
    && systemctl set-default multi-user.target \
    && rm -f /etc/machine-id && touch /etc/machine-id \
    && mkdir -p /var/lib/apt/lists/partial
# sshd like a VM's: keys only, no root login. Host keys are made at each host's first
# boot, not baked into the image (every host would share them); `lab up --ssh` then
# records each host's key in the lab's known_hosts.
RUN rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub \
    && mkdir -p /etc/systemd/system/ssh.service.d \
    && printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
       > /etc/systemd/system/ssh.service.d/host-keys.conf \
    && printf 'PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n' \
       > /etc/ssh/sshd_config.d/streamstack.conf
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
