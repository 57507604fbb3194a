import { describe, expect, it } from 'vitest';
import { selfTimes } from './profile-top.js';

describe('cpuprofile self times', () => {
  it('sums self samples per function and per file, leaving (idle) out of the shares', () => {
    const node = (id: number, functionName: string, url: string, lineNumber: number, hitCount: number) => ({ id, callFrame: { functionName, url, lineNumber }, hitCount });
    const t = selfTimes({
      nodes: [
        node(1, '(idle)', '', -1, 1000),
        node(2, 'push', 'file:///w/dist/broker/src/protocol/remoting.js', 219, 30),
        node(3, 'push', 'file:///w/dist/broker/src/protocol/remoting.js', 219, 10),
        node(4, 'decode', 'file:///w/dist/broker/src/protocol/remoting.js', 99, 20),
        node(5, 'writev', '', -1, 40),
        node(6, '', 'node:buffer', 5, 0),
      ],
    });
    expect(t.functions).toEqual([
      { name: 'push dist/broker/src/protocol/remoting.js:220', hits: 40, share: 0.4 },
      { name: 'writev (native)', hits: 40, share: 0.4 },
      { name: 'decode dist/broker/src/protocol/remoting.js:100', hits: 20, share: 0.2 },
    ]);
    expect(t.files[0]).toEqual({ name: 'dist/broker/src/protocol/remoting.js', hits: 60, share: 0.6 });
  });
});
