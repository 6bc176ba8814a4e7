// The teleconsultation agenda, loaded on first use (with its stylesheet).
import './consultations.css';
export { AgendaPage } from './Agenda';
