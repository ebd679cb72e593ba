"""Hosts nothing is sent to: link-local and cloud metadata addresses, however spelled.

Alert recipients and webhook destinations both post to user-given urls from the
server's network, where a metadata service hands out the machine's credentials to
whoever asks; both check a host here when it is configured and again, on the address
it resolves to, right before connecting.
"""

from __future__ import annotations

import ipaddress
import socket

REFUSED_HOST_NAMES = frozenset({"metadata.google.internal", "metadata"})
"""Host names of cloud metadata services, which hand out the machine's credentials.

``metadata`` is the short name GCE's resolver answers with the same service.
"""

REFUSED_ADDRESSES = frozenset(
    {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}
)
"""Metadata addresses outside the link-local ranges: AWS's IPv6 one, Alibaba Cloud's."""


def refused_host(host: str) -> str | None:
    """Why nothing may be sent to ``host``, or None: link-local and metadata addresses.

    Cloud metadata services answer on link-local addresses (and AWS also on
    fd00:ec2::254) and give whoever asks the machine's credentials, so an alert or a
    webhook request sent there would be a request for them. Addresses are read as the
    resolver reads them, so ``2852039166`` is 169.254.169.254 too.
    """
    if _host_name(host) in REFUSED_HOST_NAMES:
        return f"{host} is a cloud metadata service"
    address = _literal_address(host)
    if address is None:
        return None
    return _refused_address(host, address)


def vetted_address(host: str, port: int) -> str:
    """The address to connect to for ``host``: the host itself when it is an address,
    else the first address its name resolves to now, every one of them checked.

    The client then connects to that address, not to the name, so a name whose answer
    changes between this lookup and the connection (DNS rebinding) cannot lead it to a
    refused address.

    Raises:
        ValueError: what :func:`refused_host` says, or that the name resolves to a
            link-local or metadata address.
        OSError: the name does not resolve.
    """
    reason = refused_host(host)
    if reason is not None:
        raise ValueError(reason)
    literal = _literal_address(host)
    if literal is not None:
        return str(literal)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise OSError(f"{host} is not a host name that can be looked up") from None
    if not found:
        raise OSError(f"{host} resolves to no address")
    for *_, sockaddr in found:
        text = str(sockaddr[0]).split("%", 1)[0]
        address = _address(text)
        refused = _refused_address(str(sockaddr[0]), address) if address is not None else None
        if refused is not None:
            raise ValueError(f"{host} resolves to {sockaddr[0]}: {refused}")
    return str(found[0][4][0])


def _host_name(host: str) -> str:
    """``host`` as the resolver reads it: no brackets, no final dot, lower case."""
    return host.strip().strip("[]").rstrip(".").lower()


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells out (an IPv6 zone left aside), or None for a name."""
    return _address(_host_name(host).split("%", 1)[0])


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
"""The well-known NAT64 prefix: its last 32 bits are the IPv4 address reached."""


def _refused_address(
    host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> str | None:
    for seen in (address, *_embedded_ipv4(address)):
        if seen in REFUSED_ADDRESSES:
            return f"{host} is a cloud metadata service"
        if seen.is_link_local:
            return f"{host} is a link-local address, where cloud metadata services answer"
    return None


def _embedded_ipv4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address can lead to: mapped (``::ffff:a.b.c.d``),
    compatible (``::a.b.c.d``), NAT64 (``64:ff9b::a.b.c.d``) and 6to4 (``2002:AABB:CCDD::``)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [v4 for v4 in (address.ipv4_mapped, address.sixtofour) if v4 is not None]
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 or address in _NAT64:
        found.append(low)
    return found


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))  # 169.254.43518, 0xa9fea9fe
    except (OSError, UnicodeError, ValueError):
        return None


def url_host(url: str) -> str:
    """The host a request to ``url`` is sent to, read by httpx, the client that sends it.

    httpx maps a host through IDNA, so ``169。254。169。254`` (ideographic or full-width
    dots) is 169.254.169.254 when it connects; the check must see what it will see.
    ValueError when httpx cannot read a host, since such a url is never sent.
    """
    # Imported here, as the url is being checked: a caller without urls needs no httpx.
    import httpx

    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"the url's host is not valid: {exc}") from None
    if not host:
        raise ValueError("the url must name a host")
    return host


def url_port(url: str) -> int:
    """The port a request to ``url`` is sent to: the url's own, else its scheme's."""
    import httpx

    parsed = httpx.URL(url)
    return parsed.port or (443 if parsed.scheme == "https" else 80)
