#!/bin/sh
# The zone's foreign content: `firewall-cmd --list-all` (runtime, then with --permanent) and the zone's XML, with
# the entries the collection owns (portwarden-* services, rich rules naming them; in the XML the whole <rule>
# element) left out. Usage: foreign.sh ZONE
set -eu
zone=$1
firewall-cmd --zone "$zone" --list-all | sed -E 's/ portwarden-[^ ]+//g' | grep -v 'service name="portwarden-'
echo '--- permanent'
firewall-cmd --permanent --zone "$zone" --list-all | sed -E 's/ portwarden-[^ ]+//g' | grep -v 'service name="portwarden-'
echo '--- xml'
awk '/<rule[ >]/ { buf = $0; inrule = 1; next }
     inrule { buf = buf "\n" $0; if ($0 ~ /<\/rule>/) { inrule = 0; if (buf !~ /portwarden-/) print buf }; next }
     !/portwarden-/ { print }' "/etc/firewalld/zones/$zone.xml"
