// QUERY_MESSAGE (Java QueryMessageProcessor.queryMessage): messages of a topic by key through
// the store's key index. What mqadmin queryMsgByKey / queryMsgById, DefaultMQAdminExt
// queryMessage / viewMessage (by UNIQ_KEY) and message-trace queries send.
import { ResponseCode } from '../../protocol/codes.js';
import { header, intHeader, optionalHeader } from '../../protocol/headers.js';
import { createResponse, type RemotingCommand } from '../../protocol/remoting.js';
import { DEFAULT_QUERY_MAX_NUM } from '../../store/index/index-keys.js';
import type { MessageStore } from '../../store/message-store.js';

/** MixAll.UNIQUE_MSG_QUERY_FLAG: ext field marking a query by message id (UNIQ_KEY). */
export const UNIQUE_MSG_QUERY_FLAG = '_UNIQUE_KEY_QUERY';

export class QueryMessageProcessor {
  readonly #store: MessageStore;

  constructor(store: MessageStore) {
    this.#store = store;
  }

  /**
   * Header topic, key, maxNum, beginTimestamp, endTimestamp. The response header always carries
   * indexLastUpdateTimestamp and indexLastUpdatePhyoffset (the client decodes them either way);
   * the body is the found records back to back, or QUERY_NOT_FOUND when there are none.
   */
  queryMessage(req: RemotingCommand): RemotingCommand {
    const topic = header(req, 'topic');
    const key = header(req, 'key');
    // A unique-key query gets defaultQueryMaxNum whatever it asked for (as Java does).
    const maxNum = optionalHeader(req, UNIQUE_MSG_QUERY_FLAG) === 'true' ? DEFAULT_QUERY_MAX_NUM : intHeader(req, 'maxNum');
    const begin = intHeader(req, 'beginTimestamp');
    const end = intHeader(req, 'endTimestamp');
    const r = this.#store.queryMessage(topic, key, maxNum, begin, end);
    const ext = {
      indexLastUpdateTimestamp: String(r.indexLastUpdateTimestamp),
      indexLastUpdatePhyoffset: String(r.indexLastUpdatePhyoffset),
    };
    if (r.bufferTotalSize > 0) return createResponse(req, ResponseCode.SUCCESS, undefined, ext, Buffer.concat(r.messages, r.bufferTotalSize));
    return createResponse(req, ResponseCode.QUERY_NOT_FOUND, 'can not find message, maybe time range not correct', ext);
  }
}
