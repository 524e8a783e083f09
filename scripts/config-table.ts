// Prints the README's configuration table from the config schema.
import { renderConfigTable } from '../services/shared/config.js';

console.log(renderConfigTable());
