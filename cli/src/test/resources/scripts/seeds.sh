# The seeds' passthrough sequence on the R630 (RHEL 7).
dmesg | grep -e DMAR -e IOMMU | grep -v Adding
grep -e vmx -e dmar /proc/cpuinfo | wc -l
cat /proc/cmdline
lspci -nn | grep Ethernet
lspci -s 01:00.3 -k
lspci -s 01:00.3 -Dn
readlink /sys/bus/pci/devices/0000:01:00.3/iommu_group
ls /sys/kernel/iommu_groups/10/devices
modprobe vfio_pci
lsmod | grep vfio_pci
echo 0000:01:00.3 > /sys/bus/pci/drivers/igb/unbind
echo 0000:01:00.3 > /sys/bus/pci/drivers/vfio-pci/bind
echo "8086 1521" > /sys/bus/pci/drivers/vfio-pci/new_id
lspci -s 01:00.3 -k
cat /sys/bus/pci/devices/0000:01:00.3/vendor /sys/bus/pci/devices/0000:01:00.3/device
ls /sys/bus/pci/drivers/vfio-pci/
cat /sys/bus/pci/devices/0000:01:00.3/class
lspci -nn | grep -c Ethernet
virt-host-validate
qemu-img info guest.qcow2
cat /sys/bus/pci/devices/0000:09:00.0/vendor
