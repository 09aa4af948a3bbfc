// Network namespaces for the firewall tests: a namespace joined to the host by a veth pair
// on a private /24 network, with nftables rules inside it that stand for a company
// firewall, and a script that starts Chromium inside it.
//
// Making namespaces needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), `ip` from iproute2 and
// `nft` from nftables.

import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM_PATH } from './browser.mjs';

const IP = '/usr/sbin/ip';
const NFT = '/usr/sbin/nft';

function run(command, args, input = undefined) {
  return execFileSync(command, args, { input, encoding: 'utf8', stdio: 'pipe' });
}

/**
 * Returns why namespaces cannot be made here, or null when they can: it makes and deletes
 * one to find out.
 */
export function namespaceUnavailable() {
  if (process.getuid?.() !== 0) {
    return 'network namespaces need root; run the test as root';
  }
  for (const tool of [IP, NFT]) {
    if (!fs.existsSync(tool)) {
      return `${tool} not found: run scripts/install-deps`;
    }
  }
  const probe = `profstage-probe-${process.pid}`;
  try {
    run(IP, ['netns', 'add', probe]);
    run(IP, ['netns', 'delete', probe]);
    return null;
  } catch (error) {
    return `ip netns add failed: ${String(error.stderr || error.message).trim()}`;
  }
}

/** Returns a /24 in 10.0.0.0/8 that no interface of the host uses, as its first 3 octets. */
function freeSubnet() {
  const used = run(IP, ['-4', '-o', 'addr', 'show']);
  for (;;) {
    const prefix = `10.${randomInt(100, 250)}.${randomInt(1, 250)}`;
    if (!used.includes(` ${prefix}.`)) {
      return prefix;
    }
  }
}

/** A network namespace with a veth link to the host. */
export class Namespace {
  /**
   * Makes namespace `profstage-<label>-<pid>`. The host end of the veth pair gets
   * `hostAddress` and the `extraHostAddresses` more addresses of the same /24. The
   * namespace end gets `address`, and the namespace routes everything else through the host.
   */
  static create(label, { extraHostAddresses = 0 } = {}) {
    const prefix = freeSubnet();
    const suffix = `${process.pid % 100000}`;
    const ns = new Namespace({
      name: `profstage-${label}-${suffix}`,
      hostLink: `ps${suffix}h`,
      link: `ps${suffix}n`,
      hostAddress: `${prefix}.1`,
      extraHostAddresses: Array.from({ length: extraHostAddresses }, (_, i) => `${prefix}.${10 + i}`),
      address: `${prefix}.2`,
    });
    try {
      ns.#setUp();
    } catch (error) {
      ns.destroy();
      throw error;
    }
    return ns;
  }

  constructor({ name, hostLink, link, hostAddress, extraHostAddresses, address }) {
    this.name = name;
    this.hostLink = hostLink;
    this.link = link;
    this.hostAddress = hostAddress;
    this.extraHostAddresses = extraHostAddresses;
    this.address = address;
    this.dir = null;
  }

  #setUp() {
    run(IP, ['netns', 'add', this.name]);
    // Without IPv6, no link-local address finishes duplicate address detection a second
    // after the link comes up: Chromium takes that for a network change and aborts every
    // request in flight (net::ERR_NETWORK_CHANGED), such as the page's own scripts.
    this.#disableIpv6('default');
    this.#disableIpv6('all');
    run(IP, ['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', this.link]);
    run(IP, ['link', 'set', this.link, 'netns', this.name]);
    this.#disableIpv6(this.link);
    for (const address of [this.hostAddress, ...this.extraHostAddresses]) {
      run(IP, ['addr', 'add', `${address}/24`, 'dev', this.hostLink]);
    }
    run(IP, ['link', 'set', this.hostLink, 'up']);
    this.exec(IP, ['addr', 'add', `${this.address}/24`, 'dev', this.link]);
    this.exec(IP, ['link', 'set', this.link, 'up']);
    this.exec(IP, ['link', 'set', 'lo', 'up']);
    this.exec(IP, ['route', 'add', 'default', 'via', this.hostAddress]);
  }

  /** Turns IPv6 off for `device` (or `all`, `default`) inside the namespace, if the kernel has it. */
  #disableIpv6(device) {
    const setting = `/proc/sys/net/ipv6/conf/${device}/disable_ipv6`;
    this.exec('sh', ['-c', `if [ -w ${setting} ]; then echo 1 > ${setting}; fi`]);
  }

  /** Runs a command inside the namespace and returns its output. */
  exec(command, args, input = undefined) {
    return run(IP, ['netns', 'exec', this.name, command, ...args], input);
  }

  /** Loads an nftables ruleset inside the namespace, such as a firewall's. */
  loadRules(ruleset) {
    this.exec(NFT, ['-f', '-'], ruleset);
  }

  /** Returns a script that runs Chromium inside the namespace, for `launchBrowser`. */
  chromiumWrapper() {
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'profstage-netns-'));
    const script = path.join(this.dir, 'chromium');
    fs.writeFileSync(
      script,
      `#!/bin/sh\nexec ${IP} netns exec ${this.name} ${CHROMIUM_PATH} "$@"\n`,
      { mode: 0o755 },
    );
    return script;
  }

  /** Deletes the namespace, which deletes the veth pair with it, and the wrapper script. */
  destroy() {
    for (const args of [
      ['netns', 'delete', this.name],
      ['link', 'delete', this.hostLink],
    ]) {
      try {
        run(IP, args);
      } catch {
        // Already gone, or never made.
      }
    }
    if (this.dir) {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
