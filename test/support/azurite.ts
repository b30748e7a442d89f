export { type RunningAzurite, startAzurite } from '../../local/azurite.js';
