export type { Balancer, BalancerCandidate, BalancerFactory } from './balancer.js';
export { LeastOutstandingBalancer, leastOutstandingBalancer } from './least-outstanding.js';
export { PowerOfTwoChoicesBalancer, powerOfTwoChoicesBalancer } from './power-of-two-choices.js';
export { RandomBalancer, randomBalancer } from './random.js';
export { RoundRobinBalancer, roundRobinBalancer } from './round-robin.js';
export { WeightedBalancer, weightedBalancer } from './weighted.js';
