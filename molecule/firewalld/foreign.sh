#!/bin/sh
# The zone's foreign content: `firewall-cmd --list-all` (runtime, or with --permanent) and the zone's XML, with
# the entries the collection owns (portwarden-* services, rich rules naming them) left out. Usage: foreign.sh ZONE
set -eu
zone=$1
firewall-cmd --zone "$zone" --list-all | sed -E 's/ portwarden-[^ ]+//g' | grep -v 'service name="portwarden-'
echo '--- permanent'
firewall-cmd --permanent --zone "$zone" --list-all | sed -E 's/ portwarden-[^ ]+//g' | grep -v 'service name="portwarden-'
echo '--- xml'
grep -v 'portwarden-' "/etc/firewalld/zones/$zone.xml"
