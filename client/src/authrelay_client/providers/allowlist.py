"""The upstream allow-list: hosts and CIDR ranges that may be reached over plain http:// or
at private addresses. Provider definitions are validated against one (`AUTHRELAY_UPSTREAM_ALLOWLIST`
on the server), so the type belongs to the definition contract."""

from __future__ import annotations

import ipaddress
import re

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_LOOKS_NUMERIC = re.compile(r"^[0-9./]+$")


def allowlist_entry_problem(entry: str) -> str | None:
    """Why an allow-list entry is not a host name, `*.suffix`, IP address or CIDR; else None."""
    if "://" in entry:
        return f"{entry!r} is a URL; list the host name or address alone"
    if ":" in entry or _LOOKS_NUMERIC.match(entry):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return f"{entry!r} is not a valid IP address or CIDR range"
        return None
    name = entry[2:] if entry.startswith("*.") else entry[1:] if entry.startswith(".") else entry
    labels = name.rstrip(".").split(".")
    if len(name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return f"{entry!r} is not a host name, *.domain, IP address or CIDR range"
    return None


class UpstreamAllowlist:
    """Hosts and CIDR ranges that may be reached over plain http:// or at private addresses."""

    def __init__(self, entries: list[str]) -> None:
        self.entries = entries
        self.hosts: set[str] = set()
        self.suffixes: list[str] = []
        self.networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                self.suffixes.append(entry[1:])
            elif entry.startswith("."):
                self.suffixes.append(entry)
            else:
                self.hosts.add(entry)

    def allows_host(self, host: str) -> bool:
        """True when a host name or IP literal is named by the list."""
        name = host.strip("[]").lower().rstrip(".")
        if name in self.hosts or any(name.endswith(s) for s in self.suffixes):
            return True
        try:
            return self.allows_ip(ipaddress.ip_address(name))
        except ValueError:
            return False

    def allows_ip(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(ip in net for net in self.networks if net.version == ip.version)

    def configured(self) -> bool:
        """True when the list names anything (http:// placeholder hosts need one)."""
        return bool(self.hosts or self.suffixes or self.networks)

    def __repr__(self) -> str:
        return f"UpstreamAllowlist({self.entries!r})"


class AllowAnyHost(UpstreamAllowlist):
    """For re-reading definitions that were validated when stored: URL rules already held."""

    def __init__(self) -> None:
        super().__init__([])

    def allows_host(self, host: str) -> bool:
        return True

    def configured(self) -> bool:
        return True
