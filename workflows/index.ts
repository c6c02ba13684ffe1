export { jitWorkflow } from './jit/workflow';
