import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../test/helpers/prng.js';
import { roundTrips, tokens } from '../../test/helpers/rdata-fixtures.js';
import { RRType, typeFromString } from './constants.js';
import { WireFormatError } from './errors.js';
import { Name } from './name.js';
import { rdataFromText, rdataToText, readRdata } from './rdata.js';

const types: number[] = [...new Set<number>(Object.values(RRType)), 65280, 0];

test('readRdata on random bytes throws only WireFormatError, for every type', () => {
  const rand = seededRandom(0x5eed);
  let accepted = 0;
  for (const type of types) {
    for (let i = 0; i < 150; i++) {
      // Random octets; RDATA somewhere inside, so that pointers can land before it.
      const msgLen = 1 + Math.floor(rand() * 80);
      const msg = new Uint8Array(msgLen);
      for (let j = 0; j < msgLen; j++) {
        // Bias towards small values (lengths, zero octets) and pointer bytes.
        const r = rand();
        msg[j] = r < 0.3 ? Math.floor(rand() * 8) : r < 0.4 ? 0xc0 : Math.floor(rand() * 256);
      }
      const offset = Math.floor(rand() * msgLen);
      const length = Math.floor(rand() * (msgLen - offset + 2));
      let rd: Uint8Array;
      try {
        rd = readRdata(msg, offset, length, type);
      } catch (e) {
        if (e instanceof WireFormatError) continue;
        throw new Error(`type ${type}: ${(e as Error).stack}`);
      }
      accepted++;
      // Whatever is accepted must print, and the text must parse back to the same octets.
      const text = rdataToText(type, rd);
      const back = rdataFromText(type, tokens(text), undefined);
      assert.equal(
        Buffer.from(back).toString('hex'),
        Buffer.from(rd).toString('hex'),
        `type ${type} '${text}'`,
      );
    }
  }
  assert.ok(accepted > 0);
});

test('readRdata on mutated valid RDATA throws only WireFormatError', () => {
  const rand = seededRandom(42);
  const seeds: [number, number[]][] = [
    [RRType.SVCB, [0, 1, 0, 0, 1, 0, 3, 2, 0x68, 0x32, 0, 3, 0, 2, 0, 53]],
    [RRType.NSEC3, [1, 1, 0, 12, 2, 0xaa, 0xbb, 1, 0, 0, 1, 0x40]],
    [RRType.SOA, [1, 0x61, 0, 1, 0x62, 0, ...new Array(20).fill(1)]],
    [RRType.TSIG, [0, 0, 0, 0, 0, 0, 1, 1, 44, 0, 2, 1, 2, 0, 7, 0, 0, 0, 0]],
    [RRType.NAPTR, [0, 1, 0, 2, 1, 0x61, 0, 0, 0]],
    [RRType.LOC, [0, 0x12, 0x16, 0x13, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0x98, 0x96, 0x80]],
    [RRType.APL, [0, 1, 21, 3, 192, 168, 32]],
    [RRType.HIP, [2, 2, 0, 1, 0xaa, 0xbb, 1, 0]],
  ];
  for (const [type, base] of seeds) {
    for (let i = 0; i < 300; i++) {
      const b = Uint8Array.from(base);
      const flips = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < flips; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const len = Math.max(0, b.length - Math.floor(rand() * 3));
      try {
        const rd = readRdata(b, 0, len, type);
        assert.equal(typeof rdataToText(type, rd), 'string');
      } catch (e) {
        if (!(e instanceof WireFormatError)) throw new Error(`type ${type}: ${(e as Error).stack}`);
      }
    }
  }
});

test('whatever readRdata accepts prints as text that parses back to the same octets', () => {
  const rand = seededRandom(7);
  for (const [typeName, text] of roundTrips) {
    const type = typeFromString(typeName)!;
    const base = rdataFromText(type, tokens(text), Name.parse('example.'));
    for (let i = 0; i < 60; i++) {
      const b = Uint8Array.from(base);
      if (b.length > 0) {
        const flips = 1 + Math.floor(rand() * 2);
        for (let k = 0; k < flips; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      }
      const len = Math.max(0, b.length - (rand() < 0.2 ? 1 : 0));
      let rd: Uint8Array;
      try {
        rd = readRdata(b, 0, len, type);
      } catch (e) {
        if (e instanceof WireFormatError) continue;
        throw e;
      }
      const printed = rdataToText(type, rd);
      let back: Uint8Array;
      try {
        back = rdataFromText(type, tokens(printed), undefined);
      } catch (e) {
        throw new Error(`${typeName} ${Buffer.from(rd).toString('hex')} printed as '${printed}': ${e}`);
      }
      assert.equal(
        Buffer.from(back).toString('hex'),
        Buffer.from(rd).toString('hex'),
        `${typeName} '${printed}'`,
      );
    }
  }
});
