import { isIpv4, isNetworkAligned, isPrivateIpv4Range, networkAddress, parseIpv4Cidr } from "../model/net";

const SHAPE = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

/**
 * What is wrong with a WireGuard subnet, or nothing. Every rule about the
 * subnet alone lives here, in the schema, so the address and overlap checks
 * after it only ever see a subnet that ipaddr.js can parse.
 */
export function meshSubnetProblem(text: string): string | undefined {
  const [address, prefix] = text.split("/");
  if (!SHAPE.test(text) || !isIpv4(address ?? "")) return "must be an IPv4 CIDR such as 10.100.0.0/24";
  const subnet = parseIpv4Cidr(text);
  if (subnet === undefined) return `/${prefix} is no IPv4 prefix (they go up to /32); the mesh must be between a /16 and a /28`;
  if (!isNetworkAligned(text)) return `${text} has host bits set; did you mean ${networkAddress(subnet)}/${subnet.prefix}?`;
  if (subnet.prefix < 16 || subnet.prefix > 28) return "must be between a /16 and a /28";
  if (!isPrivateIpv4Range(subnet)) return "must be a private (RFC 1918) range";
  return undefined;
}
