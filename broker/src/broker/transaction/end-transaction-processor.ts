// END_TRANSACTION (37): a producer commits, rolls back or reports "unknown" for a half message,
// after its local transaction or in answer to CHECK_TRANSACTION_STATE. Clients send it oneway;
// the response matters to admin tools and tests only.
import { RequestError } from '../../common/errors.js';
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../../protocol/remoting.js';
import type { RemotingConnection } from '../../transport/connection.js';
import type { BrokerContext } from '../context.js';
import { parseEndTransactionHeader } from './transaction-util.js';
import type { TransactionalMessageService } from './transactional-message-service.js';

export class EndTransactionProcessor {
  readonly #ctx: BrokerContext;
  readonly #service: TransactionalMessageService;

  constructor(ctx: BrokerContext, service: TransactionalMessageService) {
    this.#ctx = ctx;
    this.#service = service;
  }

  async process(req: RemotingCommand, conn: RemotingConnection): Promise<RemotingCommand> {
    const ctx = this.#ctx;
    if (ctx.role() === 'SLAVE') {
      // As Java: a slave's store is a copy; only the master may end transactions.
      throw new RequestError(ResponseCode.SLAVE_NOT_AVAILABLE, `the broker[${ctx.config.brokerName}] is a slave: end transaction is forbidden, send it to the master`);
    }
    if (!ctx.acceptingSends()) {
      throw new RequestError(ResponseCode.SERVICE_NOT_AVAILABLE, `the broker[${ctx.config.brokerName}] is shutting down; the transaction will be checked back`);
    }
    const h = parseEndTransactionHeader(req.extFields);
    const outcome = await this.#service.endTransaction(h, conn.remoteAddress, req.remark);
    return createResponse(req, outcome.code, outcome.remark);
  }
}
