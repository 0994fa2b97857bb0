/**
 * Service names a WKS record may list instead of port numbers (RFC 1035 §3.4.2 and §5.1 defer
 * to the "Assigned Numbers" list, RFC 1010). A fixed table of the well-known services (IANA
 * "Service Name and Transport Protocol Port Number Registry", ports below 1024 with the names
 * the registry gives them), so that a zone parses the same on every machine, without
 * /etc/services.
 * @module
 */
import { textError } from './rdata-encoding.js';

/** Names valid for TCP and UDP alike (aliases included), with their port. */
const BOTH: Readonly<Record<string, number>> = {
  tcpmux: 1,
  echo: 7,
  discard: 9,
  systat: 11,
  daytime: 13,
  qotd: 17,
  chargen: 19,
  'ftp-data': 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  time: 37,
  rlp: 39,
  nameserver: 42,
  nicname: 43,
  whois: 43,
  tacacs: 49,
  domain: 53,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  gopher: 70,
  finger: 79,
  http: 80,
  www: 80,
  kerberos: 88,
  supdup: 95,
  hostname: 101,
  'iso-tsap': 102,
  'csnet-ns': 105,
  pop2: 109,
  pop3: 110,
  sunrpc: 111,
  auth: 113,
  sftp: 115,
  'uucp-path': 117,
  nntp: 119,
  ntp: 123,
  'netbios-ns': 137,
  'netbios-dgm': 138,
  'netbios-ssn': 139,
  imap: 143,
  imap2: 143,
  snmp: 161,
  'snmp-trap': 162,
  snmptrap: 162,
  xdmcp: 177,
  bgp: 179,
  irc: 194,
  smux: 199,
  qmtp: 209,
  z3950: 210,
  imap3: 220,
  ldap: 389,
  https: 443,
  snpp: 444,
  'microsoft-ds': 445,
  kpasswd: 464,
  isakmp: 500,
  rtsp: 554,
  nntps: 563,
  submission: 587,
  ipp: 631,
  ldaps: 636,
  'kerberos-adm': 749,
  'domain-s': 853,
  rsync: 873,
  'ftps-data': 989,
  ftps: 990,
  telnets: 992,
  imaps: 993,
  pop3s: 995,
};

/** Ports whose name differs between TCP (6) and UDP (17), RFC 1010 style. */
const TCP_ONLY: Readonly<Record<string, number>> = {
  exec: 512,
  login: 513,
  shell: 514,
  printer: 515,
  uucp: 540,
  klogin: 543,
  kshell: 544,
};
const UDP_ONLY: Readonly<Record<string, number>> = {
  biff: 512,
  who: 513,
  syslog: 514,
  talk: 517,
  ntalk: 518,
  route: 520,
};

/**
 * The port of a well-known service `name` (case-insensitive) for IP protocol `protocol`.
 * @throws WireFormatError DNS_ERR_TEXT naming `field` when the name is not in the table
 */
export function servicePort(name: string, protocol: number, field: string): number {
  const n = name.toLowerCase();
  const own = protocol === 6 ? TCP_ONLY : protocol === 17 ? UDP_ONLY : undefined;
  const port = Object.hasOwn(BOTH, n) ? BOTH[n] : own && Object.hasOwn(own, n) ? own[n] : undefined;
  if (port === undefined)
    throw textError(field, `'${name.slice(0, 40)}' is not a port number or a known service name`);
  return port;
}
