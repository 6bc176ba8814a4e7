// The patient's journey from their link, loaded on first use (with its stylesheet).
import './visit.css';
export { VisitPage } from './Visit';
