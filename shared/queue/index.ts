export {
  type DeadLetteredMessage,
  InMemoryQueue,
  type InMemoryQueueOptions,
  type MessageHandler,
  type ProcessOptions,
  type QueueStats,
  type ReceivedMessage,
} from './inMemoryQueue.js';
export { ServiceBusQueue, type ServiceBusQueueSettings } from './serviceBusQueue.js';
