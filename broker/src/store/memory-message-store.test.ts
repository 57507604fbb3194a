import { MemoryMessageStore } from './memory-message-store.js';
import { runMessageStoreConformance } from './message-store.conformance.js';

runMessageStoreConformance('MemoryMessageStore', () => ({ store: new MemoryMessageStore({ maxMessageSize: 64 * 1024 }), maxMessageSize: 64 * 1024 }));
